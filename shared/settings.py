"""Kafka connection settings every service composes into its own settings class, and how a
settings error is told to an operator: by variable name, never with the value it held."""

from typing import Any, Literal

from pydantic import SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Values a deployment left as shipped ("CHANGE-ME" in the manifests): a service refuses them as secrets.
PLACEHOLDER_SECRETS = frozenset(
    {"", "change-me", "changeme", "change_me", "placeholder", "secret", "todo", "xxx"}
)

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]


class KafkaSettings(BaseSettings):
    """Read from `KAFKA_*` environment variables, e.g. `KAFKA_BOOTSTRAP_SERVERS`."""

    # a validation error's text would otherwise quote every KAFKA_* value, the password included
    model_config = SettingsConfigDict(env_prefix="KAFKA_", frozen=True, hide_input_in_errors=True)

    bootstrap_servers: str = "127.0.0.1:9092"
    client_id: str = "rmbc"
    security_protocol: SecurityProtocol = "PLAINTEXT"
    sasl_mechanism: SaslMechanism | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None

    @model_validator(mode="after")
    def _sasl_needs_credentials(self) -> "KafkaSettings":
        if self.security_protocol.startswith("SASL_") and not (
            self.sasl_mechanism and self.sasl_username and self.sasl_password
        ):
            raise ValueError(
                "KAFKA_SECURITY_PROTOCOL=SASL_* needs KAFKA_SASL_MECHANISM, "
                "KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"
            )
        return self

    def aiokafka_options(self) -> dict[str, Any]:
        """Keyword arguments shared by aiokafka producers, consumers and admin clients."""
        options: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap_servers,
            "client_id": self.client_id,
            "security_protocol": self.security_protocol,
        }
        if self.security_protocol in ("SSL", "SASL_SSL"):
            from aiokafka.helpers import create_ssl_context

            options["ssl_context"] = create_ssl_context(
                cafile=self.ssl_cafile, certfile=self.ssl_certfile, keyfile=self.ssl_keyfile
            )
        if self.security_protocol.startswith("SASL_"):
            options["sasl_mechanism"] = self.sasl_mechanism
            options["sasl_plain_username"] = self.sasl_username
            options["sasl_plain_password"] = (
                self.sasl_password.get_secret_value() if self.sasl_password else None
            )
        return options

    def faust_broker_url(self) -> str:
        return ";".join(f"kafka://{server}" for server in self.bootstrap_servers.split(","))


def settings_problems(error: ValidationError) -> list[str]:
    """Each problem of a settings class's ValidationError as `VARIABLE: what is wrong`.

    Built from the error's location and message only (`include_input=False`): the value, which
    may be a password or token, is never part of it. The variable is the class's `env_prefix`
    and the field's name, as pydantic-settings reads it."""
    prefix = _env_prefix(error.title)
    problems = []
    for detail in error.errors(include_input=False, include_url=False, include_context=False):
        field = "_".join(str(part) for part in detail["loc"]).upper()
        variable = f"{prefix}{field}" if field else f"{prefix or error.title}*"
        problems.append(f"{variable}: {detail['msg']}")
    return problems


def _env_prefix(class_name: str) -> str:
    """The env_prefix of the BaseSettings subclass called `class_name` ('' when none is found)."""
    pending: list[type[BaseSettings]] = [BaseSettings]
    while pending:
        cls = pending.pop()
        if cls.__name__ == class_name:
            return str(cls.model_config.get("env_prefix") or "")
        pending.extend(cls.__subclasses__())
    return ""
