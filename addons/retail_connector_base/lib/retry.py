"""The one retry back-off of the pipeline: events, workflow steps and export flushes.

A pattern is a list of ``(attempt, seconds)`` steps: from that failed attempt on, wait that long
before the next try. It is configured in Settings as ``attempt:seconds`` pairs
(``1:10,3:60,5:300``). A channel's ``Retry-After`` wins when it asks for a longer wait.
"""

import math
import random

DEFAULT_PATTERN = ((1, 10), (3, 60), (5, 300))
DEFAULT_PATTERN_TEXT = "1:10,3:60,5:300"


def parse_pattern(text, default=DEFAULT_PATTERN):
    """Return the ``(attempt, seconds)`` steps of ``"1:10,3:60"`` in attempt order; ``default`` if none is valid.

    Items that are not two integers are skipped, so that a typo in Settings does not stop retries.
    """
    steps = []
    for item in (text or "").split(","):
        try:
            start, seconds = (int(x) for x in item.split(":"))
        except ValueError:
            continue
        steps.append((start, max(seconds, 0)))
    return tuple(sorted(steps)) or tuple(default)


def backoff_seconds(attempt, pattern=DEFAULT_PATTERN):
    """Return the pattern's wait after ``attempt`` failed tries in a row (its first step before any)."""
    delay = pattern[0][1] if pattern else 0
    for start, seconds in pattern:
        if attempt >= start:
            delay = seconds
    return delay


def retry_delay(attempt, pattern=DEFAULT_PATTERN, retry_after=None, rate_limited=False, jitter=0, rand=random.randint):
    """Return the whole seconds to wait before the next try.

    The pattern's wait for ``attempt``, or the channel's ``retry_after`` when longer. A channel that
    limited the rate and said when to come back (``rate_limited``) is not a failure: its
    ``retry_after`` alone decides. ``jitter`` adds up to that many random seconds, so that
    workers that failed together do not retry together.
    """
    asked = math.ceil(retry_after) if retry_after else 0
    if rate_limited and retry_after:
        delay = asked
    else:
        delay = max(backoff_seconds(attempt, pattern), asked)
    return delay + (rand(0, jitter) if jitter else 0)
