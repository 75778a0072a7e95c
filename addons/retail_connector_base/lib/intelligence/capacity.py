# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""When a channel's waiting work will take longer than its latency target, and what capacity fixes it.

From regular samples of the backlog and of the work arrived and processed in each step:

- the service rate is what the workers processed while they had work waiting (a busy step),
  per minute; an idle step says only that arrivals were served;
- the expected wait of the work at the back of the queue is backlog / service rate (minutes);
- the backlog's trend is a Theil-Sen slope (median of pairwise slopes: a burst or a pause in
  the samples does not tilt it);
- the target latency allows a backlog of target x service rate: the breach is when the trend
  reaches it (now, if the wait is already longer than the target);
- the suggested capacity (job runner channel capacity) is what serves the arrivals with headroom
  and works off the waiting backlog within the target, at the measured rate per worker.
"""

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np


@dataclass(frozen=True)
class Sample:
    """The backlog at ``at``, with what arrived and what was processed in the step ending there."""

    at: datetime
    backlog: float
    arrived: float = 0.0
    processed: float = 0.0


@dataclass(frozen=True)
class CapacityForecast:
    """What the samples say about the channel, with the sentence that explains it."""

    computed_at: datetime
    backlog: float
    arrival_rate: float  # per minute
    service_rate: float | None  # per minute while busy; None when the workers never had a queue
    latency_minutes: float  # expected wait at the back of the queue now (inf: nothing is processed)
    target_minutes: float
    slope_per_hour: float  # backlog growth
    breach_at: datetime | None
    capacity: int
    suggested_capacity: int
    state: str  # ok, at_risk, breached
    explanation: str
    evidence: dict = field(default_factory=dict)

    @property
    def minutes_to_breach(self):
        """Minutes until the target is breached: 0 when it is, None when no breach is in sight."""
        if self.breach_at is None:
            return None
        return max(0.0, (self.breach_at - self.computed_at).total_seconds() / 60.0)


def theil_sen(xs, ys):
    """Return (slope, intercept) of the Theil-Sen line through the points."""
    xs = np.asarray(xs, dtype=float)
    ys = np.asarray(ys, dtype=float)
    if len(xs) < 2:
        return 0.0, float(ys[0]) if len(ys) else 0.0
    i, j = np.triu_indices(len(xs), k=1)
    dx = xs[j] - xs[i]
    keep = dx != 0
    if not keep.any():
        return 0.0, float(np.median(ys))
    slope = float(np.median((ys[j] - ys[i])[keep] / dx[keep]))
    return slope, float(np.median(ys - slope * xs))


def forecast_capacity(samples, target_minutes=5.0, capacity=1, horizon_hours=24.0, headroom=1.25):
    """Return the forecast of one channel from its samples (oldest first, regular steps)."""
    if not samples:
        raise ValueError("a capacity forecast needs at least one sample of the backlog")
    samples = sorted(samples, key=lambda s: s.at)
    now = samples[-1].at
    capacity = max(1, int(capacity or 1))
    steps = [(b.at - a.at).total_seconds() / 60.0 for a, b in zip(samples, samples[1:])]
    step = float(np.median(steps)) if steps else 1.0
    span = max(step, (now - samples[0].at).total_seconds() / 60.0)
    backlog = float(samples[-1].backlog)
    arrived = sum(s.arrived for s in samples[1:])
    arrival_rate = arrived / span if len(samples) > 1 else 0.0
    busy = [(prev, cur) for prev, cur in zip(samples, samples[1:]) if prev.backlog > 0 or cur.backlog > 0]
    busy_minutes = sum((cur.at - prev.at).total_seconds() / 60.0 for prev, cur in busy)
    busy_processed = sum(cur.processed for _prev, cur in busy)
    service_rate = busy_processed / busy_minutes if busy_minutes else None
    xs = [(s.at - now).total_seconds() / 3600.0 for s in samples]
    slope, _intercept = theil_sen(xs, [s.backlog for s in samples])

    if backlog <= 0:
        latency = 0.0
    elif not service_rate:
        latency = math.inf
    else:
        latency = backlog / service_rate
    allowed_backlog = target_minutes * service_rate if service_rate else 0.0
    breach_at = None
    if latency >= target_minutes and backlog > 0:
        breach_at = now
    elif slope > 0 and service_rate:
        hours = (allowed_backlog - backlog) / slope
        if hours <= horizon_hours:
            breach_at = now + timedelta(hours=hours)
    state = "breached" if breach_at == now else ("at_risk" if breach_at else "ok")

    per_worker = service_rate / capacity if service_rate else None
    # Keep up with arrivals with headroom, and work off what waits within the target meanwhile.
    needed = max(headroom * arrival_rate, arrival_rate + (backlog / target_minutes if target_minutes else 0.0))
    if per_worker and state != "ok":
        suggested = max(capacity, math.ceil(needed / per_worker))
    else:
        suggested = capacity

    explanation = _explain(state, backlog, arrival_rate, service_rate, latency, target_minutes, slope, breach_at, now,
                           capacity, suggested, per_worker, needed, busy_minutes)
    return CapacityForecast(
        computed_at=now, backlog=backlog, arrival_rate=round(arrival_rate, 3),
        service_rate=round(service_rate, 3) if service_rate is not None else None,
        latency_minutes=round(latency, 2) if math.isfinite(latency) else latency, target_minutes=target_minutes,
        slope_per_hour=round(slope, 2), breach_at=breach_at, capacity=capacity, suggested_capacity=suggested,
        state=state, explanation=explanation,
        evidence={"samples": len(samples), "step_minutes": step, "span_minutes": span, "busy_minutes": busy_minutes,
                  "processed_while_busy": busy_processed, "allowed_backlog": allowed_backlog,
                  "per_worker_rate": per_worker, "needed_rate": needed})


def _explain(state, backlog, arrival_rate, service_rate, latency, target, slope, breach_at, now, capacity,
             suggested, per_worker, needed, busy_minutes):
    parts = ["%d waiting, %.1f arriving per minute" % (backlog, arrival_rate)]
    if service_rate is None:
        parts.append("the workers never had a queue in the samples, so their capacity is not measured yet")
    elif service_rate == 0:
        parts.append("nothing was processed in %.0f minutes with work waiting: is the job runner running?"
                     % busy_minutes)
    else:
        parts.append("processed %.1f per minute while busy (%.2f per worker at capacity %d)"
                     % (service_rate, per_worker, capacity))
    if math.isfinite(latency):
        parts.append("the last one waits about %.1f minutes (target %.1f)" % (latency, target))
    parts.append("backlog trend %+.1f per hour (Theil-Sen)" % slope)
    if state == "breached":
        parts.append("the latency target is breached now")
    elif state == "at_risk":
        parts.append("at this trend the target is breached in %.0f minutes"
                     % ((breach_at - now).total_seconds() / 60.0))
    else:
        parts.append("no breach in sight")
    if suggested > capacity:
        parts.append("capacity %d would serve %.1f per minute (arrivals with headroom, or the backlog within the "
                     "target), against %d now" % (suggested, needed, capacity))
    return "; ".join(parts) + "."
