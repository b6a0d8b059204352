"""Topic names, and the one definition of every topic's shape (partitions, replication,
retention) that `rmbc topics create`, `rmbc broker start`, compose and the Kubernetes
KafkaTopic resources all follow."""

from dataclasses import dataclass
from enum import StrEnum

from pydantic_settings import BaseSettings, SettingsConfigDict


class Topic(StrEnum):
    CLINICAL_EVENTS = "rmbc.clinical-events.v1"
    CANCER_FLAGS = "rmbc.cancer-flags.v1"
    REGISTRY_RECORDS = "rmbc.registry-records.v1"
    REGISTRY_RECORDS_V2 = "rmbc.registry-records.v2"
    ALERTS = "rmbc.alerts.v1"
    DEAD_LETTER = "rmbc.dead-letter.v1"
    REVIEWS = "rmbc.reviews.v1"


class TopicNames(BaseSettings):
    """The topic each role uses. Defaults are the contract names; tests give each run its own."""

    model_config = SettingsConfigDict(env_prefix="RMBC_TOPIC_", frozen=True)

    clinical_events: str = Topic.CLINICAL_EVENTS.value
    cancer_flags: str = Topic.CANCER_FLAGS.value
    registry_records: str = Topic.REGISTRY_RECORDS.value
    registry_records_v2: str = Topic.REGISTRY_RECORDS_V2.value
    alerts: str = Topic.ALERTS.value
    dead_letter: str = Topic.DEAD_LETTER.value
    reviews: str = Topic.REVIEWS.value

    @classmethod
    def with_suffix(cls, suffix: str) -> "TopicNames":
        return cls.model_validate(
            {name: f"{default}.{suffix}" for name, default in cls().model_dump().items()}
        )

    def all(self) -> list[str]:
        return list(self.model_dump().values())


DAY_MS = 24 * 60 * 60 * 1000

# How long each role's records are kept: the input long enough to rebuild a classifier by
# replay, dead letters long enough to triage, the registry's a year, people's reviews ten years
# (they are the clinical record of who agreed what). Flags and alerts are kept as long as the
# reviews: the worklist rebuilds every item from them at each start, so with a shorter retention
# an open item (and its alert history, overdue state and outcomes) would silently vanish while
# its reviews remain (services/worklist/README.md, Retention).
RETENTION_DAYS: dict[str, int] = {
    "clinical_events": 30,
    "cancer_flags": 3650,
    "registry_records": 365,
    "registry_records_v2": 365,
    "alerts": 3650,
    "dead_letter": 90,
    "reviews": 3650,
}


@dataclass(frozen=True)
class TopicLayout:
    """How many partitions and replicas every topic gets in one deployment.

    Partitions bound the consumers that work in parallel, and one patient's events stay in one
    partition only while the count does not change: choose it once, before go-live
    (docs/scaling.md). `min_insync_replicas` below `replication_factor` lets one broker be down
    while writes with acks=all still succeed."""

    partitions: int
    replication_factor: int
    min_insync_replicas: int

    def __post_init__(self) -> None:
        if self.partitions < 1 or self.replication_factor < 1:
            raise ValueError("partitions and replication factor are at least 1")
        if not 1 <= self.min_insync_replicas <= self.replication_factor:
            raise ValueError("min.insync.replicas is between 1 and the replication factor")


LOCAL = TopicLayout(partitions=3, replication_factor=1, min_insync_replicas=1)
CLUSTER = TopicLayout(partitions=12, replication_factor=3, min_insync_replicas=2)


@dataclass(frozen=True)
class TopicSpec:
    role: str
    name: str
    partitions: int
    replication_factor: int
    config: dict[str, str]


def topic_specs(names: TopicNames, layout: TopicLayout) -> list[TopicSpec]:
    """Every topic of the contract as it must exist on the broker."""
    return [
        TopicSpec(
            role=role,
            name=name,
            partitions=layout.partitions,
            replication_factor=layout.replication_factor,
            config={
                "cleanup.policy": "delete",
                "retention.ms": str(RETENTION_DAYS[role] * DAY_MS),
                "min.insync.replicas": str(layout.min_insync_replicas),
            },
        )
        for role, name in names.model_dump().items()
    ]
