"""Ingest configuration, from environment variables (`rmbc ingest --help` lists them)."""

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.settings import KafkaSettings
from shared.topics import TopicNames


class IngestSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RMBC_INGEST_", frozen=True)

    tokens: SecretStr = Field(
        default=SecretStr(""),
        description="Comma-separated bearer tokens, each plain (16+ characters) or sha256:<hex>.",
    )
    host: str = Field(default="127.0.0.1", description="Address the HTTP and MLLP servers bind.")
    port: int = Field(default=8080, description="HTTP port (FHIR API, /healthz, /metrics).")
    mllp_port: int = Field(default=2575, description="MLLP port for HL7 v2.")
    max_body_bytes: int = Field(default=10_000_000, gt=0, description="Larger bodies get 413.")
    max_bundle_entries: int = Field(default=1000, gt=0, description="Larger Bundles get 413.")
    publish_timeout_seconds: float = Field(
        default=3.0, gt=0, description="Longest wait for Kafka's acknowledgement before 503."
    )
    retry_after_seconds: int = Field(default=5, ge=1, description="Retry-After sent with a 503.")
    patient_index_size: int = Field(
        default=100_000, ge=0, description="Patients remembered in memory to resolve references."
    )
    log_level: str = Field(default="INFO", description="Log level of the JSON logs.")
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    topics: TopicNames = Field(default_factory=TopicNames)


def env_help() -> str:
    lines = ["environment:"]
    for name, info in IngestSettings.model_fields.items():
        if name in ("kafka", "topics"):
            continue
        default = "required" if name == "tokens" else f"default {info.default}"
        lines.append(f"  RMBC_INGEST_{name.upper():<25} {info.description} ({default})")
    lines.append(
        f"  {'KAFKA_BOOTSTRAP_SERVERS':<37} Kafka bootstrap servers (default 127.0.0.1:9092)"
    )
    lines.append(
        f"  {'KAFKA_SECURITY_PROTOCOL':<37} PLAINTEXT | SSL | SASL_*; with KAFKA_SASL_*, KAFKA_SSL_*"
    )
    for name in TopicNames.model_fields:
        lines.append(f"  RMBC_TOPIC_{name.upper():<26} topic name override")
    return "\n".join(lines)
