"""Topic names: the contract's fixed names and the per-deployment overrides."""

from enum import StrEnum

from pydantic_settings import BaseSettings, SettingsConfigDict


class Topic(StrEnum):
    CLINICAL_EVENTS = "rmbc.clinical-events.v1"
    CANCER_FLAGS = "rmbc.cancer-flags.v1"
    REGISTRY_RECORDS = "rmbc.registry-records.v1"
    REGISTRY_RECORDS_V2 = "rmbc.registry-records.v2"
    ALERTS = "rmbc.alerts.v1"
    DEAD_LETTER = "rmbc.dead-letter.v1"


class TopicNames(BaseSettings):
    """The topic each role uses. Defaults are the contract names; tests give each run its own."""

    model_config = SettingsConfigDict(env_prefix="RMBC_TOPIC_", frozen=True)

    clinical_events: str = Topic.CLINICAL_EVENTS.value
    cancer_flags: str = Topic.CANCER_FLAGS.value
    registry_records: str = Topic.REGISTRY_RECORDS.value
    registry_records_v2: str = Topic.REGISTRY_RECORDS_V2.value
    alerts: str = Topic.ALERTS.value
    dead_letter: str = Topic.DEAD_LETTER.value

    @classmethod
    def with_suffix(cls, suffix: str) -> "TopicNames":
        return cls.model_validate(
            {name: f"{default}.{suffix}" for name, default in cls().model_dump().items()}
        )

    def all(self) -> list[str]:
        return list(self.model_dump().values())
