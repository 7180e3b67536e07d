"""GET /metrics: Prometheus request metrics plus the micro-batcher's counters."""

from __future__ import annotations

from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_fastapi_instrumentator import Instrumentator

from citeqa.service.runtime.batching import MicroBatchEmbedder


class BatcherMetrics:
    """Prometheus view of the micro-batcher's counters (read at scrape time)."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def collect(self):
        batcher: MicroBatchEmbedder | None = getattr(self.app.state, "batcher", None)
        if batcher is None:
            return
        stats = batcher.stats
        yield CounterMetricFamily("citeqa_embed_questions", "questions embedded by the micro-batcher", value=stats.calls)
        yield CounterMetricFamily("citeqa_embed_batches", "model calls made by the micro-batcher", value=stats.batches)
        yield GaugeMetricFamily("citeqa_embed_largest_batch", "most questions embedded in one model call", value=stats.largest)


def expose_metrics(app: FastAPI) -> None:
    """Count every request and serve /metrics; one registry per app, so several apps can live in one process."""
    registry = CollectorRegistry()
    registry.register(BatcherMetrics(app))
    Instrumentator(registry=registry, excluded_handlers=["/metrics"]).instrument(app).expose(
        app, endpoint="/metrics", include_in_schema=False
    )
