"""The breast CNS team's e-mail (pure). The Subject line never carries a patient identifier; the
body does, because the team must find the patient (it goes to a secure NHSmail team address)."""

from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime

from services.notifier.facts import Facts
from services.notifier.gp_message import letter_html
from services.notifier.mime import Part, multipart


@dataclass(frozen=True)
class Email:
    """A whole e-mail as sent (RFC 5322 bytes) with its envelope."""

    sender: str
    recipient: str
    message_id: str
    data: bytes


def subject(facts: Facts) -> str:
    tag = {"alert": "Action", "review": "Review", "correction": "Correction"}[facts.purpose]
    return f"[rmbc {tag}] {facts.headline} - ref {facts.alert_id[:8]}"


def cns_email(facts: Facts, *, sender: str, recipient: str, sent_at: datetime) -> Email:
    message_id = f"<{facts.alert_id}@rmbc>"
    headers = [
        ("From", sender),
        ("To", recipient),
        ("Subject", subject(facts)),
        ("Date", format_datetime(sent_at)),
        ("Message-ID", message_id),
    ]
    if facts.corrects:
        earlier = f"<{facts.corrects}@rmbc>"
        headers += [("References", earlier), ("In-Reply-To", earlier)]
    data = multipart(
        headers,
        "alternative",
        [
            Part('text/plain; charset="utf-8"', plain_text(facts).encode()),
            Part('text/html; charset="utf-8"', letter_html(facts, sent_at).encode()),
        ],
        boundary=f"=_rmbc_{facts.alert_id}",
    )
    return Email(sender, recipient, message_id, data)


def plain_text(facts: Facts) -> str:
    lines = [facts.headline, ""]
    if facts.gp_not_reachable:
        lines += [
            "GP NOT REACHABLE: the patient's GP practice was not told by rmbc "
            f"({facts.gp_not_reachable}). Please make sure the GP is informed.",
            "",
        ]
    if facts.corrects:
        lines += [f"This corrects the earlier alert ref {facts.corrects}."]
        if facts.retraction_reason:
            lines += [f"Reason: {facts.retraction_reason}"]
        lines += [""]
    lines += [
        f"Patient: {facts.patient_name}",
        f"NHS number: {facts.nhs_number or 'not known'}",
        f"Date of birth: {facts.birth_date.isoformat() if facts.birth_date else 'not recorded'}",
        f"GP practice: {facts.gp_practice_ods or 'not recorded'}",
        "",
        f"Finding: {facts.finding}",
        f"Sites: {', '.join(facts.sites) if facts.sites else 'none recorded'}",
        f"Episode date: {facts.episode_date.isoformat() if facts.episode_date else 'not known'}",
    ]
    if facts.primary:
        lines.append(f"Original primary: {facts.primary}")
    if facts.review_reason and facts.purpose == "review":
        lines.append(f"Why review is needed: {facts.review_reason}")
    if facts.evidence:
        lines += ["", "Evidence:"] + [f"- {line}" for line in facts.evidence]
    lines += ["", f"Treating trust: {facts.trust_name} ({facts.trust_ods or 'ODS not known'})"]
    lines += ["", f"Alert reference: {facts.alert_id}"]
    return "\n".join(lines) + "\n"
