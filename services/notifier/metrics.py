"""Prometheus metrics, one registry per service instance (no globals)."""

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


@dataclass
class NotifierMetrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.alerts = Counter(
            "rmbc_notifier_alerts",
            "Alert ledger events by channel and outcome.",
            ["channel", "outcome"],
            registry=r,
        )
        self.dead_letters = Counter(
            "rmbc_notifier_dead_letters", "Dead letters written.", registry=r
        )
        self.registry_records = Counter(
            "rmbc_notifier_registry_records", "Registry records published.", ["action"], registry=r
        )
        self.registry_records_incomplete = Counter(
            "rmbc_notifier_registry_records_incomplete",
            "Registry records (v2) published lacking a mandatory COSD item, by item.",
            ["item"],
            registry=r,
        )
        self.flags = Counter(
            "rmbc_notifier_flags", "Flags consumed by state.", ["state"], registry=r
        )
        self.latency = Histogram(
            "rmbc_notifier_alert_latency_seconds",
            "From the flag being recorded to the alert being sent.",
            ["channel"],
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300),
            registry=r,
        )
        self.lag = Gauge(
            "rmbc_notifier_consumer_lag",
            "Flags behind the end of each input partition",
            ["partition"],
            registry=r,
        )
        self.in_flight = Gauge(
            "rmbc_notifier_alerts_in_flight", "Alerts queued or being retried.", registry=r
        )
