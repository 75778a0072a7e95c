"""Operations intelligence: anomaly detection and capacity forecasts from the pipeline's history.

Plain Python and numpy, no Odoo and no external service: every finding carries the expected and
the observed value, the band it fell out of and the sentence that explains it.
"""

from .anomaly import Finding, RateDetector, RatioDetector, ValueDetector, count_tail, poisson_tail
from .capacity import CapacityForecast, Sample, forecast_capacity, theil_sen

__all__ = [
    "CapacityForecast",
    "Finding",
    "RateDetector",
    "RatioDetector",
    "Sample",
    "ValueDetector",
    "count_tail",
    "forecast_capacity",
    "poisson_tail",
    "theil_sen",
]
