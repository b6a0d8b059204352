"""Notifier configuration, from environment variables (`rmbc notifier --help` lists them)."""

from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.settings import PLACEHOLDER_SECRETS, KafkaSettings
from shared.state_dir import service_state_dir
from shared.topics import TopicNames


class NotifierSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RMBC_", frozen=True, extra="ignore")

    notifier_http_host: str = Field(
        default="127.0.0.1",
        description="HTTP bind address: loopback unless set (0.0.0.0 in a pod).",
    )
    notifier_http_port: int = Field(default=8081, description="/healthz, /readyz, /metrics.")
    notifier_group_id: str = Field(default="rmbc-notifier", description="Kafka consumer group.")
    notifier_max_attempts: int = Field(
        default=5, ge=1, description="Attempts per alert before it is dead-lettered."
    )
    notifier_retry_base_seconds: float = Field(
        default=1.0, gt=0, description="First retry delay; doubles per attempt."
    )
    notifier_retry_max_seconds: float = Field(default=60.0, gt=0, description="Retry delay cap.")
    notifier_send_timeout_seconds: float = Field(
        default=30.0, gt=0, description="Deadline for one MESH or SMTP call."
    )
    notifier_concurrency: int = Field(default=4, ge=1, description="Concurrent sends per channel.")
    notifier_session_timeout_ms: int = Field(
        default=10000, ge=6000, description="Kafka consumer group session timeout."
    )
    notifier_commit_interval_seconds: float = Field(
        default=1.0,
        gt=0,
        description="Commit consumed flags at most this often (and on a clean stop); a crash "
        "reads up to this much again, which the send ledger turns into nothing.",
    )
    notifier_state_dir: Path = Field(
        default_factory=lambda: service_state_dir("notifier"),
        description="Where the count of flags that stopped the notifier is kept across restarts "
        "(created when needed); default $RMBC_STATE_DIR/notifier, RMBC_STATE_DIR defaulting to "
        ".rmbc in the project folder.",
    )
    notifier_poison_after_failures: int = Field(
        default=1,
        ge=1,
        description="A flag that stopped the notifier this many times (not for a broker fault) is "
        "dead-lettered when met again.",
    )
    notifier_test_pause_after_send_seconds: float = Field(
        default=0.0,
        ge=0,
        description="TEST ONLY: pause between a successful send and recording it.",
    )

    mesh_url: str = Field(description="MESH API base URL.")
    mesh_mailbox: str = Field(description="Our (sending) MESH mailbox id.")
    mesh_password: SecretStr = Field(description="MESH mailbox password.")
    mesh_shared_key: SecretStr = Field(description="MESH HMAC shared key.")
    mesh_workflow_id: str = Field(
        default="RMBC_BREAST_CANCER_ALERT", description="MESH workflow id of the alerts."
    )
    mesh_ca_file: Path | None = Field(default=None, description="CA bundle for MESH TLS.")
    mesh_cert_file: Path | None = Field(default=None, description="Client cert (MESH mTLS).")
    mesh_key_file: Path | None = Field(default=None, description="Client key (MESH mTLS).")

    smtp_host: str = Field(default="127.0.0.1", description="SMTP relay host.")
    smtp_port: int = Field(default=25, description="SMTP relay port.")
    smtp_starttls: bool = Field(default=False, description="Upgrade with STARTTLS.")
    smtp_username: str | None = Field(default=None, description="SMTP AUTH user, if any.")
    smtp_password: SecretStr | None = Field(default=None, description="SMTP AUTH password.")
    smtp_from: str = Field(description="From address of the CNS e-mails.")
    smtp_ca_file: Path | None = Field(default=None, description="CA bundle for STARTTLS.")
    smtp_local_hostname: str | None = Field(
        default=None,
        description="Name given in EHLO; default this host's fully qualified name, looked up once.",
    )

    directory_file: Path = Field(description="JSON directory: GP ODS -> MESH, trust -> CNS.")

    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    topics: TopicNames = Field(default_factory=TopicNames)

    @model_validator(mode="after")
    def _no_placeholder_secrets(self) -> "NotifierSettings":
        secrets = {
            "RMBC_MESH_PASSWORD": self.mesh_password,
            "RMBC_MESH_SHARED_KEY": self.mesh_shared_key,
        }
        if self.smtp_username:
            secrets["RMBC_SMTP_PASSWORD"] = self.smtp_password or SecretStr("")
        for name, value in secrets.items():
            if value.get_secret_value().strip().lower() in PLACEHOLDER_SECRETS:
                raise ValueError(f"{name} is empty or a placeholder; set the real secret")
        return self


def env_help() -> str:
    lines = []
    for name, field in NotifierSettings.model_fields.items():
        if name in ("kafka", "topics"):
            continue
        required = " (required)" if field.is_required() else f" (default {field.default!r})"
        lines.append(f"  RMBC_{name.upper():<40} {field.description or ''}{required}")
    lines.append("  KAFKA_BOOTSTRAP_SERVERS, KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_*, KAFKA_SSL_*")
    lines.append("  RMBC_TOPIC_CANCER_FLAGS, RMBC_TOPIC_ALERTS, RMBC_TOPIC_REGISTRY_RECORDS,")
    lines.append("  RMBC_TOPIC_DEAD_LETTER (topic names; the contract names by default)")
    return "\n".join(lines)
