"""Domain errors of ingest. One exception handler at each edge (HTTP, MLLP) maps them to answers."""

from dataclasses import dataclass, field
from typing import Literal

IssueCode = Literal[
    "invalid", "structure", "required", "value", "code-invalid", "not-found", "too-costly", "too-long",
    "security", "login", "expired", "incomplete", "not-supported", "duplicate", "processing", "transient", "exception",
]  # fmt: skip


@dataclass(frozen=True)
class Issue:
    """One OperationOutcome.issue: what is wrong and where (a FHIRPath expression)."""

    code: IssueCode
    diagnostics: str
    expression: str | None = None
    severity: Literal["fatal", "error", "warning", "information"] = "error"


@dataclass
class InvalidInput(Exception):
    """The input is bad: answer 4xx (HTTP) or AE/AR (MLLP). Nothing was published."""

    issues: list[Issue]
    status: int = 422
    retryable: bool = field(default=False)

    def __str__(self) -> str:
        return "; ".join(f"{i.expression or '-'}: {i.diagnostics}" for i in self.issues)


class BrokerUnavailable(Exception):
    """Kafka did not acknowledge in time: answer 503 + Retry-After (HTTP) or a negative ACK (MLLP)."""


def refusal_status(issues: list[Issue]) -> int:
    """413 when only size stood in the way (FHIR `too-costly`), else 422."""
    return 413 if all(issue.code == "too-costly" for issue in issues) else 422
