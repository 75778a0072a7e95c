# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Anomalies in hourly transaction flows, with robust statistics that explain themselves.

Three detectors, each over a dense hourly series that starts at a known hour (an hour missing
from the history counts as zero, an hour before the history's start is unknown):

- ``RateDetector``: event or order counts. The expected count for an hour is the median of the
  same weekday and hour over the last weeks (falling back to the same hour of the last days while
  the history is short), times a slow EWMA level that follows growth. The band combines Poisson
  noise (the variance of a count is its mean) with the seasonal spread (scaled MAD), so quiet
  hours, where a few orders more or less mean nothing, do not flag; a drop also has to be
  large in proportion and unlikely by chance, counting the baseline's own error (a median of
  four weeks is noisy too) and not only the Poisson noise of the hour.
- ``RatioDetector``: shares such as failed events per event or refunds per order. The expected
  share is pooled over past windows (the worst 5 % left out); the band combines the binomial noise of the current
  window's size with the spread of past windows.
- ``ValueDetector``: averages such as the order total. Each past hour's deviation from the median
  is scaled by the square root of its size, so an hour of two orders is not judged like an hour
  of two hundred.

Every finding carries the expected and the observed value, the band, a score (a robust z-score)
and a sentence saying why.
"""

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

MAD_SCALE = 1.4826  # the MAD of a normal sample times this estimates its standard deviation
HOURS_PER_WEEK = 168
# Variance of the median of n counts relative to the variance of one: a baseline taken as the
# median of four weeks is itself off by about half a standard deviation of a single hour.
MEDIAN_VARIANCE = (1.0, 1.0, 0.5, 0.449, 0.298, 0.287, 0.215, 0.212)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class Finding:
    """One flagged hour (or window ending at that hour) with what was expected and why it is odd."""

    metric: str
    kind: str  # drop, spike, high, low
    at: datetime  # start of the hour the finding is about
    expected: float
    observed: float
    lower: float
    upper: float
    score: float
    explanation: str
    window_hours: int = 1
    evidence: dict = field(default_factory=dict)

    @property
    def window_end(self):
        return self.at + timedelta(hours=1)

    @property
    def window_start(self):
        return self.at - timedelta(hours=self.window_hours - 1)


def robust_center(values):
    """Return (median, scaled MAD) of the finite values, or (nan, nan) when there are none."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if not values.size:
        return math.nan, math.nan
    median = float(np.median(values))
    return median, MAD_SCALE * float(np.median(np.abs(values - median)))


def poisson_tail(observed, expected, upper):
    """Return P(X >= observed) when upper, else P(X <= observed), for X ~ Poisson(expected)."""
    observed = int(round(observed))
    if expected <= 0:
        return 1.0 if (observed <= 0 or not upper) else 0.0
    log_lam = math.log(expected)

    def pmf(k):
        return math.exp(k * log_lam - expected - math.lgamma(k + 1))

    if upper:
        if observed <= 0:
            return 1.0
        stop = observed + int(20 * math.sqrt(expected + observed)) + 50
        return min(1.0, sum(pmf(k) for k in range(observed, stop)))
    if observed < 0:
        return 0.0
    start = max(0, observed - int(20 * math.sqrt(expected + observed)) - 50)
    return min(1.0, sum(pmf(k) for k in range(start, observed + 1)))


def count_tail(observed, expected, variance, upper):
    """Return P(X >= observed) when upper, else P(X <= observed), for a count X of this mean and variance.

    A variance above the mean is the Poisson noise plus the error of an estimated baseline (a median
    of a few weeks is itself noisy) and excess dispersion: X is then negative binomial (Poisson with
    a gamma-distributed mean) with that variance; otherwise X is Poisson. Judging a count against an
    estimated baseline as if the baseline were exact overstates how rare the count is.
    """
    if expected <= 0 or variance <= expected * (1 + 1e-9):
        return poisson_tail(observed, expected, upper)
    observed = int(round(observed))
    shape = expected ** 2 / (variance - expected)
    log_p, log_q = math.log(shape / (shape + expected)), math.log(expected / (shape + expected))
    base = shape * log_p - math.lgamma(shape)

    def pmf(k):
        return math.exp(base + math.lgamma(k + shape) - math.lgamma(k + 1) + k * log_q)

    reach = int(20 * math.sqrt(variance + observed)) + 50
    if upper:
        if observed <= 0:
            return 1.0
        return min(1.0, sum(pmf(k) for k in range(observed, observed + reach)))
    if observed < 0:
        return 0.0
    return min(1.0, sum(pmf(k) for k in range(max(0, observed - reach), observed + 1)))


def _lagged(values, lag, count):
    """Matrix (count x n): row k holds the series shifted by (k + 1) * lag hours, nan before the start."""
    n = len(values)
    out = np.full((count, n), np.nan)
    for k in range(count):
        shift = (k + 1) * lag
        if shift < n:
            out[k, shift:] = values[: n - shift]
    return out


def _nanmedian_rows(matrix):
    """Column medians ignoring nan, nan where a column has no value (without numpy's warning)."""
    valid = np.isfinite(matrix)
    filled = np.where(valid, matrix, np.inf)
    ordered = np.sort(filled, axis=0)
    counts = valid.sum(axis=0)
    result = np.full(matrix.shape[1], np.nan)
    for c in np.unique(counts):
        if c == 0:
            continue
        cols = counts == c
        lo, hi = (c - 1) // 2, c // 2
        result[cols] = (ordered[lo, cols] + ordered[hi, cols]) / 2.0
    return result, counts


def _hour_label(at):
    return "%s %02d:00" % (WEEKDAYS[at.weekday()], at.hour)


def _fmt(value):
    if value is None or not math.isfinite(value):
        return "-"
    if abs(value) >= 100 or float(value).is_integer():
        return "%.0f" % value
    return "%.2f" % value if abs(value) < 1 else "%.1f" % value


class RateDetector:
    """Drops and spikes of hourly counts against a weekly-seasonal, level-adjusted baseline.

    ``alpha`` is the chance, counting the baseline's error, below which a count that is out of the
    band and halves (or doubles) the flow is flagged.
    """

    def __init__(self, weeks=4, min_weeks=2, days=7, min_days=3, z=4.0, drop_z=2.5, alpha=3e-4, min_expected=5.0,
                 min_change=0.5, ewma_alpha=0.05, ratio_bounds=(0.67, 1.5), level_bounds=(0.5, 2.0)):
        self.weeks, self.min_weeks, self.days, self.min_days = weeks, min_weeks, days, min_days
        self.z, self.drop_z, self.alpha = z, drop_z, alpha
        self.min_expected, self.min_change = min_expected, min_change
        self.ewma_alpha, self.ratio_bounds, self.level_bounds = ewma_alpha, ratio_bounds, level_bounds

    def baselines(self, values):
        """Return per hour: seasonal median, its scaled MAD, samples used, whether weekly, EWMA level and
        count noise (variance over mean); and the series' excess dispersion."""
        values = np.asarray(values, dtype=float)
        weekly = _lagged(values, HOURS_PER_WEEK, self.weeks)
        daily = _lagged(values, 24, self.days)
        week_median, week_count = _nanmedian_rows(weekly)
        day_median, day_count = _nanmedian_rows(daily)
        use_week = week_count >= self.min_weeks
        median = np.where(use_week, week_median, np.where(day_count >= self.min_days, day_median, np.nan))
        week_mad, _ = _nanmedian_rows(np.abs(weekly - median[None, :]))
        day_mad, _ = _nanmedian_rows(np.abs(daily - median[None, :]))
        mad = np.where(use_week, week_mad, day_mad)
        spread = MAD_SCALE * np.nan_to_num(mad)
        samples = np.where(use_week, week_count, day_count)
        # The level follows slow growth or decline: EWMA of observed / seasonal, clipped so that an
        # outage of a few hours hardly moves it, and only over hours busy enough to say something.
        level = np.ones(len(values))
        current = 1.0
        low, high = self.ratio_bounds
        for i in range(len(values)):
            level[i] = current
            if np.isfinite(median[i]) and median[i] >= self.min_expected:
                ratio = min(high, max(low, (values[i] + 1.0) / (median[i] + 1.0)))
                current += self.ewma_alpha * (ratio - current)
                current = min(self.level_bounds[1], max(self.level_bounds[0], current))
        # The variance of a count against its baseline, relative to the expected count: Poisson noise of
        # the hour plus the error of the baseline, a median of a few counts of the same noise.
        noise = 1.0 + np.array([MEDIAN_VARIANCE[min(int(n), len(MEDIAN_VARIANCE) - 1)] for n in samples])
        # Excess dispersion over that, shared by every hour of the series: the robust variance of the
        # relative prediction errors of the busy hours, less what the noise above explains.
        expected = median * level
        busy = np.isfinite(expected) & (expected >= max(self.min_expected, 10.0))
        dispersion = 0.0
        if busy.sum() >= 24:
            relative = (values[busy] - expected[busy]) / expected[busy]
            _center, scale = robust_center(relative)
            dispersion = max(0.0, scale ** 2 - float(np.median(noise[busy] / expected[busy])))
        return median, spread, samples, use_week, level, noise, dispersion

    def scan(self, values, start, first=0, metric="events", label="events per hour"):
        """Return the findings for the hours from index ``first`` of an hourly series starting at ``start``."""
        values = np.asarray(values, dtype=float)
        median, spread, samples, use_week, level, noise, dispersion = self.baselines(values)
        findings = []
        for i in range(max(0, first), len(values)):
            if not np.isfinite(median[i]):
                continue
            finding = self._judge(values[i], median[i], spread[i], int(samples[i]), bool(use_week[i]), level[i],
                                  noise[i], dispersion, start + timedelta(hours=i), metric, label)
            if finding:
                findings.append(finding)
        return findings

    def _judge(self, observed, median, spread, samples, weekly, level, noise, dispersion, at, metric, label):
        expected = median * level
        # Poisson variance and the baseline's error, plus the series' excess dispersion, or this hour's
        # own spread if wider. The tail probability is taken under the same variance as the band.
        variance = max(noise * expected + dispersion * expected ** 2, (spread * level) ** 2)
        sigma = math.sqrt(max(variance, 1.0))
        z = (observed - expected) / sigma
        lower, upper = max(0.0, expected - self.drop_z * sigma), expected + self.z * sigma
        kind = None
        # A drop is judged on a lower score than a spike but must also halve the flow: a silent
        # integration failure takes most of the traffic away, noise does not.
        if z <= -self.drop_z and expected >= self.min_expected and observed <= expected * (1 - self.min_change):
            tail = count_tail(observed, expected, variance, upper=False)
            kind = "drop" if tail < self.alpha else None
        elif z >= self.z and observed >= 2 * self.min_expected and observed >= expected * (1 + self.min_change):
            tail = count_tail(observed, expected, variance, upper=True)
            kind = "spike" if tail < self.alpha else None
        if not kind:
            return None
        profile = ("the same hour on the last %d %ss" % (samples, WEEKDAYS[at.weekday()]) if weekly
                   else "the same hour of the last %d days (history shorter than %d weeks)" % (samples, self.min_weeks))
        ratio = observed / expected if expected else math.inf
        explanation = (
            "%(label)s %(verb)s to %(obs)s at %(hour)s where %(exp)s were expected (%(ratio)s of normal; "
            "normal band %(lo)s to %(hi)s). Baseline: median %(med)s of %(profile)s, spread %(spread)s, "
            "times a recent level of %(level)s. Probability of a count this %(way)s by chance: %(p).1e."
        ) % {
            "label": label[:1].upper() + label[1:], "verb": "fell" if kind == "drop" else "rose",
            "obs": _fmt(observed), "hour": _hour_label(at), "exp": _fmt(expected),
            "ratio": ("%.0f%%" % (100 * ratio)) if math.isfinite(ratio) else "no traffic",
            "lo": _fmt(lower), "hi": _fmt(upper), "med": _fmt(median), "profile": profile,
            "spread": _fmt(spread), "level": "%.2f" % level, "way": "low" if kind == "drop" else "high", "p": tail,
        }
        return Finding(metric=metric, kind=kind, at=at, expected=round(float(expected), 2), observed=float(observed),
                       lower=round(float(lower), 2), upper=round(float(upper), 2), score=round(float(abs(z)), 2),
                       explanation=explanation,
                       evidence={"seasonal_median": float(median), "seasonal_spread": float(spread), "samples": samples,
                                 "profile": "weekly" if weekly else "daily", "level": round(float(level), 3),
                                 "dispersion": round(dispersion, 4), "tail_probability": tail})


def _window_sums(values, window):
    """Sums over the ``window`` hours ending at each index (partial at the start)."""
    cumulative = np.concatenate([[0.0], np.cumsum(np.asarray(values, dtype=float))])
    idx = np.arange(1, len(values) + 1)
    return cumulative[idx] - cumulative[np.maximum(0, idx - window)]


class RatioDetector:
    """Shares (failed per event, refunds per order) above what past windows of the same size show."""

    def __init__(self, window=1, history=14 * 24, z=4.0, alpha=1e-4, min_count=20, min_change=0.05, min_history=24):
        self.window, self.history, self.z, self.alpha = window, history, z, alpha
        self.min_count, self.min_change, self.min_history = min_count, min_change, min_history

    def scan(self, numerators, denominators, start, first=0, metric="failure_share", label="share of failed events"):
        """Return the findings for the windows ending at the hours from index ``first``."""
        num = _window_sums(numerators, self.window)
        den = _window_sums(denominators, self.window)
        findings = []
        for i in range(max(0, first), len(num)):
            if den[i] < self.min_count:
                continue
            past = [i - self.window * k for k in range(1, self.history // self.window + 1)
                    if i - self.window * k >= self.window - 1]
            past = [j for j in past if den[j] >= max(1.0, self.min_count / 4.0)]
            if len(past) < max(3, self.min_history // self.window):
                continue
            ratios = num[past] / den[past]
            _median, spread = robust_center(ratios)
            # Expected share: pooled over the past windows less the worst 5 % (earlier incidents). A
            # median of sparse ratios would be 0 when most small windows have no failure at all.
            kept = ratios <= np.quantile(ratios, 0.95)
            median = float(num[past][kept].sum() / den[past][kept].sum())
            pooled = max(median, 0.5 / max(1.0, float(den[past].sum())))
            sigma = math.sqrt(pooled * (1 - pooled) / den[i] + spread ** 2)
            observed = num[i] / den[i]
            z = (observed - median) / sigma if sigma else 0.0
            if z < self.z or observed - median < self.min_change:
                continue
            # Few failures in a small window are not rare enough for the normal approximation:
            # the count must also be unlikely under Poisson at the expected share.
            tail = poisson_tail(num[i], den[i] * max(median, pooled), upper=True)
            if tail >= self.alpha:
                continue
            at = start + timedelta(hours=i)
            upper = median + self.z * sigma
            span = "hour" if self.window == 1 else "%d hours" % self.window
            explanation = (
                "%(label)s was %(obs).1f%% (%(num)s of %(den)s) in the %(span)s to %(end)s, against %(exp).1f%% "
                "expected (pooled over the last %(n)d windows of the same length, spread %(spread).1f points; "
                "normal up to %(hi).1f%% for %(den)s)."
            ) % {"label": label[:1].upper() + label[1:], "obs": 100 * observed, "num": _fmt(num[i]),
                 "den": _fmt(den[i]), "span": span, "end": _hour_label(at + timedelta(hours=1)),
                 "exp": 100 * median, "n": len(past), "spread": 100 * spread, "hi": 100 * upper}
            findings.append(Finding(
                metric=metric, kind="high", at=at, expected=round(float(median), 4), observed=round(float(observed), 4),
                lower=0.0, upper=round(float(upper), 4), score=round(float(z), 2), explanation=explanation,
                window_hours=self.window,
                evidence={"numerator": float(num[i]), "denominator": float(den[i]), "windows": len(past),
                          "spread": spread, "poisson_tail": tail}))
        return findings


class ValueDetector:
    """Hourly averages (order totals) far from the median, judged by the size of the hour."""

    def __init__(self, history=28 * 24, z=4.0, min_count=3, min_change=0.3, min_history=48):
        self.history, self.z, self.min_count = history, z, min_count
        self.min_change, self.min_history = min_change, min_history

    def scan(self, sums, counts, start, first=0, metric="order_value", label="average order total"):
        """Return the findings for the hours from index ``first``; ``sums`` / ``counts`` is the hour's mean."""
        sums = np.asarray(sums, dtype=float)
        counts = np.asarray(counts, dtype=float)
        means = np.divide(sums, counts, out=np.full(len(sums), np.nan), where=counts > 0)
        findings = []
        for i in range(max(0, first), len(sums)):
            if counts[i] < self.min_count:
                continue
            lo = max(0, i - self.history)
            past = np.arange(lo, i)
            past = past[counts[past] >= 1]
            if len(past) < self.min_history:
                continue
            median = float(np.median(means[past]))
            # Deviations scaled by sqrt(size) estimate the spread of single orders around the median.
            per_order = MAD_SCALE * float(np.median(np.abs(means[past] - median) * np.sqrt(counts[past])))
            if not per_order:
                continue
            sigma = per_order / math.sqrt(counts[i])
            observed = float(means[i])
            z = (observed - median) / sigma
            if abs(z) < self.z or abs(observed - median) < self.min_change * abs(median):
                continue
            at = start + timedelta(hours=i)
            kind = "high" if z > 0 else "low"
            explanation = (
                "%(label)s was %(obs)s over %(n)s orders at %(hour)s, against %(exp)s expected (median of %(h)d "
                "past hours; single orders spread %(spread)s, so %(lo)s to %(hi)s is normal for %(n)s orders)."
            ) % {"label": label[:1].upper() + label[1:], "obs": _fmt(observed), "n": _fmt(counts[i]),
                 "hour": _hour_label(at), "exp": _fmt(median), "h": len(past), "spread": _fmt(per_order),
                 "lo": _fmt(median - self.z * sigma), "hi": _fmt(median + self.z * sigma)}
            findings.append(Finding(
                metric=metric, kind=kind, at=at, expected=round(median, 2), observed=round(observed, 2),
                lower=round(float(median - self.z * sigma), 2), upper=round(float(median + self.z * sigma), 2),
                score=round(float(abs(z)), 2), explanation=explanation,
                evidence={"count": float(counts[i]), "past_hours": len(past), "per_order_spread": per_order}))
        return findings
