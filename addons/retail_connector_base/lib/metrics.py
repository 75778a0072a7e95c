"""Prometheus exposition of Retail Connector figures, from plain samples (no Odoo import)."""

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST


class _SamplesCollector:
    def __init__(self, samples):
        self.samples = samples

    def collect(self):
        for name, kind, doc, labels, rows in self.samples:
            if kind == "histogram":
                family = HistogramMetricFamily(name, doc, labels=labels)
                for label_values, buckets, total in rows:
                    family.add_metric(label_values, buckets=buckets, sum_value=total)
            else:
                family = (CounterMetricFamily if kind == "counter" else GaugeMetricFamily)(name, doc, labels=labels)
                for label_values, value in rows:
                    family.add_metric(label_values, value)
            yield family


def render_metrics(samples):
    """Return (body bytes, content type) for samples given as (name, kind, doc, labels, rows)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_SamplesCollector(samples))
    return generate_latest(registry), CONTENT_TYPE_LATEST
