"""The classifier's settings, from the environment (`rmbc classifier --help` lists them)."""

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.settings import KafkaSettings
from shared.state_dir import service_state_dir, state_root
from shared.topics import TopicNames


class ClassifierSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RMBC_CLASSIFIER_", frozen=True)

    app_id: str = Field(
        default="rmbc-classifier",
        description="faust app id: the consumer group and the changelog topic prefix",
    )
    web_host: str = Field(
        default="127.0.0.1",
        description="address of /healthz /readyz /metrics: loopback unless set (0.0.0.0 in a pod)",
    )
    web_port: int = Field(default=6066, description="port of /healthz /readyz /metrics")
    store: str = Field(default="memory://", description="table store: memory:// or rocksdb://")
    data_dir: Path = Field(
        default_factory=lambda: service_state_dir("classifier"),
        description="the worker's tables and counts (created when needed): "
        "$RMBC_STATE_DIR/classifier unless set",
    )
    max_fetch_bytes: int = Field(
        default=8 * 1024 * 1024,
        ge=1024 * 1024,
        description="largest fetch per partition; with faust's fixed 1.5 s fetch wait, a backlog "
        "stalls up to 1.5 s per fetch, so larger fetches catch up faster",
    )
    fetch_wait_ms: int = Field(
        default=100,
        ge=1,
        le=1500,
        description="longest the broker may hold a fetch with no new records (faust fixes 1500)",
    )
    recovery_stall_seconds: float = Field(
        default=300.0,
        gt=0,
        description="stop the worker (for its restart) when table recovery has made no progress "
        "for this long; a worker stuck in recovery reads none of its partitions",
    )
    max_message_bytes: int = Field(
        default=1_000_000,
        ge=65_536,
        description="largest record the classifier writes (a flag, a patient's stored state): at "
        "most the producer's max request size (1,000,000) and the topics' max.message.bytes",
    )
    poison_after_failures: int = Field(
        default=1,
        ge=1,
        description="an event that stopped the worker this many times (not for a broker fault) is "
        "dead-lettered when met again, and the worker goes on",
    )
    concept_maps: str = Field(
        default="",
        description="a trust's FHIR ConceptMap files (local codes to SNOMED CT / ICD-10), "
        "separated by commas; checked at start (also read by rmbc classify)",
    )
    log_level: str = Field(default="INFO", description="log level")
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    topics: TopicNames = Field(default_factory=TopicNames)


ENVIRONMENT = {
    "KAFKA_BOOTSTRAP_SERVERS": "Kafka bootstrap servers (host:port,...)",
    "KAFKA_SECURITY_PROTOCOL": "PLAINTEXT | SSL | SASL_PLAINTEXT | SASL_SSL (+ KAFKA_SASL_*, KAFKA_SSL_*)",
    "RMBC_STATE_DIR": f"where every service keeps its state (default {state_root()})",
    **{
        f"RMBC_CLASSIFIER_{name.upper()}": f"{field.description or ''} "
        f"(default {field.get_default(call_default_factory=True) or 'none'})"
        for name, field in ClassifierSettings.model_fields.items()
        if name not in ("kafka", "topics")
    },
    **{
        f"RMBC_TOPIC_{name.upper()}": f"topic name (default {field.default})"
        for name, field in TopicNames.model_fields.items()
    },
}
