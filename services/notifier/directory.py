"""Who to tell: GP practice ODS code -> MESH mailbox, provider (trust) ODS code -> breast CNS team."""

from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field


class _Entry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class GpPractice(_Entry):
    name: str
    mesh_mailbox: str = Field(min_length=1, description="MESH mailbox id of the practice.")


class MdtLead(_Entry):
    name: str = Field(description="e.g. 'Breast MDT lead, Example Hospitals'.")
    email: str = Field(min_length=3, description="NHSmail address of the MDT lead.")


class CnsTeam(_Entry):
    name: str = Field(description="e.g. 'Breast CNS team, Example Hospitals NHS FT'.")
    email: str = Field(min_length=3, description="Team mailbox (NHSmail).")
    phone: str | None = None
    mdt_lead: MdtLead | None = Field(
        default=None,
        description="Who is told when an alert to the team is not acknowledged in time "
        "(services/worklist/escalation.py).",
    )


class Provider(_Entry):
    name: str = Field(description="The treating trust's name.")
    cns_team: CnsTeam


class Directory(_Entry):
    """The routing table. Keys are ODS codes, compared case-insensitively."""

    gp_practices: dict[str, GpPractice] = Field(default_factory=dict)
    providers: dict[str, Provider] = Field(default_factory=dict)
    fallback_cns_team: CnsTeam | None = Field(
        default=None,
        description="Where CNS alerts go when the treating trust has no entry.",
    )

    def gp_practice(self, ods: str | None) -> GpPractice | None:
        return _lookup(self.gp_practices, ods)

    def provider(self, ods: str | None) -> Provider | None:
        return _lookup(self.providers, ods)

    def cns_team(self, provider_ods: str | None) -> CnsTeam | None:
        provider = self.provider(provider_ods)
        return provider.cns_team if provider else self.fallback_cns_team


T = TypeVar("T")


def _lookup(table: dict[str, T], ods: str | None) -> T | None:
    if not ods:
        return None
    wanted = ods.strip().upper()
    for key, value in table.items():
        if key.strip().upper() == wanted:
            return value
    return None


def load_directory(path: Path) -> Directory:
    return Directory.model_validate_json(path.read_bytes())
