"""Worklist configuration, from `RMBC_WORKLIST_*` environment variables (`rmbc worklist --help`)."""

from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.settings import PLACEHOLDER_SECRETS

NHSUK_DIST = Path(__file__).parent / "frontend" / "node_modules" / "nhsuk-frontend" / "dist"


class WorklistSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="RMBC_WORKLIST_", frozen=True, extra="ignore", hide_input_in_errors=True
    )

    http_host: str = Field(default="127.0.0.1", description="HTTP bind address.")
    http_port: int = Field(default=8090, description="HTTP port of the pages and /metrics.")
    public_url: str = Field(
        default="http://127.0.0.1:8090",
        description="The address users reach the worklist at (the OIDC redirect is built on it).",
    )
    oidc_issuer: str = Field(description="The OpenID provider's issuer URL (discovery is read).")
    oidc_client_id: str = Field(description="This app's client id at the provider.")
    oidc_client_secret: SecretStr = Field(description="This app's client secret at the provider.")
    role_claim: str = Field(default="rmbc_role", description="ID token claim holding the role.")
    trust_claim: str = Field(
        default="rmbc_trust",
        description="ID token claim holding the user's trust ODS code (a string or a list).",
    )
    cns_role: str = Field(default="cns", description="The role claim's value for a breast CNS.")
    mdt_role: str = Field(
        default="mdt_coordinator", description="The role claim's value for an MDT coordinator."
    )
    read_only_role: str = Field(
        default="read_only", description="The role claim's value for someone who may only view."
    )
    session_secret: SecretStr = Field(
        description="Signs the session cookie and makes the pages' opaque item ids."
    )
    cookie_secure: bool = Field(
        default=True,
        description="Send the session cookie over HTTPS only; false for http://localhost tests.",
    )
    session_hours: float = Field(default=8.0, gt=0, description="A sign-in lasts this long.")
    default_trust: str | None = Field(
        default=None,
        pattern=r"^[A-Z0-9]{3,6}$",
        description="The trust (ODS code) whose list shows a finding whose patient has no "
        "treating trust; unset, such a finding is on no one's list.",
    )
    acknowledge_within_working_days: int = Field(
        default=2, ge=1, description="An alert not acknowledged within this is overdue."
    )
    review_send_timeout_seconds: float = Field(
        default=15.0,
        gt=0,
        description="How long a review may wait for Kafka's acknowledgement before the page says "
        "it was not saved.",
    )
    escalation: bool = Field(
        default=True,
        description="Run the escalation loop (overdue alerts e-mailed to the MDT lead) in this "
        "process. Exactly one loop per deployment: set false on every worklist process but one. "
        "On, it needs RMBC_SMTP_FROM and RMBC_DIRECTORY_FILE (RMBC_SMTP_* as the notifier's).",
    )
    nhsuk_dist: Path = Field(
        default=NHSUK_DIST,
        description="The nhsuk-frontend package's dist folder (installed by `make setup`).",
    )

    @field_validator("session_secret", "oidc_client_secret")
    @classmethod
    def _not_a_placeholder(cls, value: SecretStr) -> SecretStr:
        secret = value.get_secret_value()
        if secret.lower() in PLACEHOLDER_SECRETS or len(secret) < 16:
            raise ValueError("must be a real secret of at least 16 characters")
        return value

    @property
    def redirect_uri(self) -> str:
        return self.public_url.rstrip("/") + "/auth/callback"


def env_help() -> str:
    lines = []
    for name, info in WorklistSettings.model_fields.items():
        default = (
            ""
            if info.is_required()
            else f" (default: {info.get_default(call_default_factory=True)})"
        )
        lines.append(f"  RMBC_WORKLIST_{name.upper():<34} {info.description}{default}")
    return "\n".join(lines)
