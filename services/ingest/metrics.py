"""Prometheus metrics of one ingest process, in a registry of its own (no global state)."""

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class IngestMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.accepted = Counter(
            "rmbc_ingest_accepted_resources",
            "Resources published to Kafka and acknowledged.",
            ["channel", "resource_type"],
            registry=self.registry,
        )
        self.rejected = Counter(
            "rmbc_ingest_rejected_requests",
            "Requests or entries refused, by reason.",
            ["channel", "reason"],
            registry=self.registry,
        )
        self.publish_seconds = Histogram(
            "rmbc_ingest_publish_seconds",
            "Time from send to the broker's acknowledgement of a request's events.",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "rmbc_ingest_in_flight_requests",
            "HTTP requests being processed.",
            registry=self.registry,
        )
