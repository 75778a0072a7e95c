"""Tests of the one retry back-off (events, workflow steps, export flushes)."""

from retail_connector_base_lib import retry


def test_backoff_grows_with_the_failures_in_a_row():
    assert [retry.backoff_seconds(n) for n in (1, 2, 3, 4, 5, 9)] == [10, 10, 60, 60, 300, 300]


def test_a_pattern_is_read_from_its_settings_text_and_a_typo_is_skipped():
    assert retry.parse_pattern("1:5, 2:x ,4:40") == ((1, 5), (4, 40))
    assert retry.parse_pattern("3:60,1:10") == ((1, 10), (3, 60))
    assert retry.parse_pattern("") == retry.DEFAULT_PATTERN
    assert retry.parse_pattern(retry.DEFAULT_PATTERN_TEXT) == retry.DEFAULT_PATTERN


def test_a_longer_retry_after_wins_a_shorter_one_does_not():
    pattern = ((1, 10), (3, 60))
    assert retry.retry_delay(1, pattern) == 10
    assert retry.retry_delay(1, pattern, retry_after=42.2) == 43
    assert retry.retry_delay(3, pattern, retry_after=5) == 60


def test_a_rate_limit_waits_what_the_channel_asked_and_no_more():
    pattern = ((1, 10), (3, 60))
    assert retry.retry_delay(3, pattern, retry_after=2, rate_limited=True) == 2
    # without a Retry-After, the pattern decides
    assert retry.retry_delay(3, pattern, rate_limited=True) == 60


def test_jitter_adds_up_to_its_seconds():
    assert retry.retry_delay(1, ((1, 10),), jitter=5, rand=lambda low, high: high) == 15
    assert retry.retry_delay(1, ((1, 10),), jitter=5, rand=lambda low, high: low) == 10
