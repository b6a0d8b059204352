"""Prometheus metrics of one classifier app (its own registry: nothing global)."""

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class ClassifierMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.events = Counter(
            "rmbc_classifier_events_consumed", "Clinical events consumed", registry=self.registry
        )
        self.flags = Counter(
            "rmbc_classifier_flags",
            "Flag changes emitted",
            ["state", "kind"],
            registry=self.registry,
        )
        self.dead_letters = Counter(
            "rmbc_classifier_dead_letters", "Events sent to dead letter", registry=self.registry
        )
        self.evidence_left_out = Counter(
            "rmbc_classifier_flag_evidence_left_out",
            "Evidence items left out of flags to keep each within the message size",
            registry=self.registry,
        )
        self.latency = Histogram(
            "rmbc_classifier_processing_seconds",
            "Time to classify one event and emit its flags",
            registry=self.registry,
        )
        self.age = Histogram(
            "rmbc_classifier_event_age_seconds",
            "Time from ingest publishing an event to the classifier taking it in",
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
            registry=self.registry,
        )
        self.lag = Gauge(
            "rmbc_classifier_consumer_lag",
            "Clinical events the group has not committed, per assigned input partition (log end - committed)",
            ["partition"],
            registry=self.registry,
        )
        self.recovering = Gauge(
            "rmbc_classifier_recovering",
            "1 while the worker's table is being restored: it classifies nothing meanwhile",
            registry=self.registry,
        )
