"""Ingest configuration, from environment variables (`rmbc ingest --help` lists them)."""

import ssl
from typing import Literal

from pydantic import Field, FilePath, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.ingest.limits import (
    DEFAULT_FRAME_TIMEOUT,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_FRAME_BYTES,
    MAX_JSON_DEPTH,
    ConnectionLimits,
)
from services.ingest.peers import PeerAllowList
from shared.settings import KafkaSettings
from shared.topics import TopicNames


class IngestSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="RMBC_INGEST_", frozen=True, hide_input_in_errors=True
    )

    tokens: SecretStr = Field(
        default=SecretStr(""),
        description="Development mode (logs a warning; production uses OAUTH_*): comma-separated "
        "static bearer tokens, each plain (16+ characters) or sha256:<hex>, "
        "optionally ending @<expiry>: @2027-01-31 (accepted to the end of that day, UTC) or "
        "@2027-01-31T18:00:00Z; an expired token gets 401.",
    )
    oauth_issuer: str = Field(
        default="",
        description="OAuth 2.0: the authorisation server's issuer (the `iss` of its access "
        "tokens). With OAUTH_AUDIENCE and OAUTH_JWKS_URL, bearer tokens are JWT access tokens "
        "verified against the issuer's keys, and TOKENS must be empty.",
    )
    oauth_audience: str = Field(default="", description="OAuth 2.0: the `aud` ingest requires.")
    oauth_jwks_url: str = Field(
        default="", description="OAuth 2.0: the issuer's JWKS (its `jwks_uri`)."
    )
    host: str = Field(default="127.0.0.1", description="Address the HTTP and MLLP servers bind.")
    port: int = Field(default=8080, description="HTTP port (FHIR API, /healthz, /metrics).")
    mllp_port: int = Field(default=2575, description="MLLP port for HL7 v2.")
    max_body_bytes: int = Field(default=10_000_000, gt=0, description="Larger bodies get 413.")
    max_bundle_entries: int = Field(
        default=1000,
        gt=0,
        description="Larger Bundles get 413; HL7 messages mapping to more resources get AR.",
    )
    max_json_depth: int = Field(
        default=MAX_JSON_DEPTH,
        gt=0,
        le=MAX_JSON_DEPTH,
        description=f"Deeper JSON nesting gets 413 (at most {MAX_JSON_DEPTH}).",
    )
    mllp_max_frame_bytes: int = Field(
        default=DEFAULT_MAX_FRAME_BYTES, gt=0, description="Larger MLLP frames get AR."
    )
    http_header_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description="Longest wait for a request's line and headers (from connecting, or from "
        "the previous answer); then the connection is closed.",
    )
    http_idle_timeout_seconds: float = Field(
        default=15.0,
        gt=0,
        description="Longest silence while a body arrives, and between requests on a kept-alive "
        "connection; then the connection is closed.",
    )
    http_max_connections: int = Field(
        default=512, gt=0, description="Open HTTP connections; one more gets 503 and is closed."
    )
    http_drain_max_bytes: int = Field(
        default=128 * 1024 * 1024,
        ge=0,
        description="After refusing a body unread (413), read at most this much of it so that "
        "the client can read the answer; beyond, the connection is closed.",
    )
    mllp_idle_timeout_seconds: float = Field(
        default=600.0,
        gt=0,
        description="An MLLP connection silent this long between messages is closed.",
    )
    mllp_frame_timeout_seconds: float = Field(
        default=DEFAULT_FRAME_TIMEOUT,
        gt=0,
        description="A frame must arrive whole within this time of its start block; else AR "
        "and the connection is closed.",
    )
    mllp_max_connections: int = Field(
        default=DEFAULT_MAX_CONNECTIONS,
        gt=0,
        description="Open MLLP connections; one more is closed at once.",
    )
    environment: Literal["production", "test"] = Field(
        default="production",
        description="test: NHS numbers of the test range 9000000000-9999999999 (never issued to "
        "patients) are accepted; production refuses them.",
    )
    hl7_processing_ids: str = Field(
        default="P",
        pattern=r"^[PTD](,[PTD])*$",
        description="Comma-separated HL7 MSH-11 processing ids accepted (P production, T "
        "training/test, D debugging); others get AR. Add T only on a test deployment.",
    )
    tls_cert_file: FilePath | None = Field(
        default=None,
        description="PEM certificate chain: serve HTTPS and MLLP over TLS (with TLS_KEY_FILE).",
    )
    tls_key_file: FilePath | None = Field(
        default=None, description="PEM private key of TLS_CERT_FILE."
    )
    tls_client_ca_file: FilePath | None = Field(
        default=None,
        description="PEM CA bundle: mutual TLS on HTTPS and MLLP; every client must present a "
        "certificate it signed (CERT_REQUIRED). Needs TLS_CERT_FILE and TLS_PEERS_FILE.",
    )
    tls_peers_file: FilePath | None = Field(
        default=None,
        description='JSON allow-list: {"<certificate CN>": {"facilities": [MSH-4...], '
        '"clients": [token client names...]}}, a token client named as logged: '
        "token-<first 8 hex digits of the token's SHA-256>. A message or request a certificate "
        "may not speak for gets AR / 403.",
    )
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

    @model_validator(mode="after")
    def _tls_needs_both_files(self) -> "IngestSettings":
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError(
                "RMBC_INGEST_TLS_CERT_FILE and RMBC_INGEST_TLS_KEY_FILE go together: set both or neither"
            )
        return self

    @model_validator(mode="after")
    def _one_kind_of_token(self) -> "IngestSettings":
        oauth = [self.oauth_issuer, self.oauth_audience, self.oauth_jwks_url]
        if any(oauth) and not all(oauth):
            raise ValueError(
                "RMBC_INGEST_OAUTH_ISSUER, _AUDIENCE and _JWKS_URL go together: set all or none"
            )
        if all(oauth) and self.tokens.get_secret_value():
            raise ValueError(
                "RMBC_INGEST_TOKENS (static development tokens) and OAuth exclude each other"
            )
        return self

    @property
    def oauth(self) -> bool:
        return bool(self.oauth_issuer)

    @model_validator(mode="after")
    def _mutual_tls_is_whole(self) -> "IngestSettings":
        if (self.tls_client_ca_file is None) != (self.tls_peers_file is None):
            raise ValueError(
                "RMBC_INGEST_TLS_CLIENT_CA_FILE and RMBC_INGEST_TLS_PEERS_FILE go together: "
                "a verified certificate must also be told whom it may speak for"
            )
        if self.tls_client_ca_file is not None and self.tls_cert_file is None:
            raise ValueError("mutual TLS needs TLS: set RMBC_INGEST_TLS_CERT_FILE and KEY_FILE")
        return self

    def peers(self) -> PeerAllowList | None:
        """The mutual-TLS allow-list, or None when client certificates are not required."""
        if self.tls_peers_file is None:
            return None
        return PeerAllowList.from_json(self.tls_peers_file.read_bytes())

    def processing_ids(self) -> frozenset[str]:
        return frozenset(self.hl7_processing_ids.split(","))

    def connection_limits(self) -> ConnectionLimits:
        return ConnectionLimits(
            header_timeout=self.http_header_timeout_seconds,
            idle_timeout=self.http_idle_timeout_seconds,
            max_connections=self.http_max_connections,
        )

    def tls_context(self) -> ssl.SSLContext | None:
        """The server-side TLS context both listeners use, or None for plain TCP."""
        if self.tls_cert_file is None or self.tls_key_file is None:
            return None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.tls_cert_file, self.tls_key_file)
        if self.tls_client_ca_file is not None:
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(cafile=self.tls_client_ca_file)
        return context


def env_help() -> str:
    lines = ["environment:"]
    for name, info in IngestSettings.model_fields.items():
        if name in ("kafka", "topics"):
            continue
        default = "required without OAuth" if name == "tokens" else f"default {info.default}"
        if info.default is None or (info.default == "" and name != "tokens"):
            default = "default unset"
        lines.append(f"  RMBC_INGEST_{name.upper():<27} {info.description} ({default})")
    lines.append(
        f"  {'KAFKA_BOOTSTRAP_SERVERS':<39} Kafka bootstrap servers (default 127.0.0.1:9092)"
    )
    for name, text in (
        ("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT (default) | SSL | SASL_PLAINTEXT | SASL_SSL"),
        ("KAFKA_SASL_MECHANISM", "PLAIN | SCRAM-SHA-256 | SCRAM-SHA-512 (SASL_* only)"),
        ("KAFKA_SASL_USERNAME", "SASL user (SASL_* only)"),
        ("KAFKA_SASL_PASSWORD", "SASL password (SASL_* only)"),
        ("KAFKA_SSL_CAFILE", "CA bundle that signed the brokers' certificates (SSL, SASL_SSL)"),
        ("KAFKA_SSL_CERTFILE", "client certificate for mutual TLS (optional)"),
        ("KAFKA_SSL_KEYFILE", "its private key (optional)"),
    ):
        lines.append(f"  {name:<39} {text}")
    for name in TopicNames.model_fields:
        lines.append(f"  RMBC_TOPIC_{name.upper():<28} topic name override")
    return "\n".join(lines)
