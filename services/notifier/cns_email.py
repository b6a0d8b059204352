"""The breast CNS team's e-mail (pure). The Subject line never carries a patient identifier; the
body does, because the team must find the patient (it goes to a secure NHSmail team address).
It is plain text with the GP letter attached as the same PDF the practice receives, so the team
sees exactly what the GP was told."""

from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime

from services.notifier.facts import Facts, readable_date
from services.notifier.letter_pdf import letter_pdf
from services.notifier.mime import Part, multipart


@dataclass(frozen=True)
class Email:
    """A whole e-mail as sent (RFC 5322 bytes) with its envelope."""

    sender: str
    recipient: str
    message_id: str
    data: bytes


def subject(facts: Facts) -> str:
    tag = {
        "alert": "Action",
        "review": "Review",
        "correction": "Correction",
        "replacement": "Replacement",
        "update": "Update",
    }[facts.purpose]
    return f"[rmbc {tag}] {facts.headline} - ref {facts.alert_id[:8]}"


def cns_email(
    facts: Facts, *, sender: str, recipient: str, sent_at: datetime, letter: bytes | None = None
) -> Email:
    """`letter`: the PDF the GP practice is sent for the same flag, attached as it is (the
    team sees exactly what the practice sees); without one, the facts are rendered here."""
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
        "mixed",
        [
            Part('text/plain; charset="utf-8"', plain_text(facts).encode()),
            Part(
                "application/pdf",
                letter if letter is not None else letter_pdf(facts, sent_at),
                filename=pdf_filename(facts),
            ),
        ],
        boundary=f"=_rmbc_{facts.alert_id}",
    )
    return Email(sender, recipient, message_id, data)


def pdf_filename(facts: Facts) -> str:
    return f"rmbc-{facts.purpose}-{facts.alert_id[:8]}.pdf"


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
    if facts.withdrawn:
        lines += [f"Withdrawn (entered in error): {', '.join(facts.withdrawn)}", ""]
    if facts.added:
        lines += [f"Added since the alert: {', '.join(facts.added)}", ""]
    lines += [
        f"Patient: {facts.patient_name}",
        f"NHS number: {facts.nhs_number or 'not known'}",
        f"Date of birth: {readable_date(facts.birth_date, 'not recorded')}",
        f"GP practice: {facts.gp_practice_ods or 'not recorded'}",
        "",
        f"Finding: {facts.finding}",
        f"Sites: {', '.join(facts.sites) if facts.sites else 'none recorded'}",
        f"Episode date: {readable_date(facts.episode_date)}",
    ]
    if facts.primary:
        lines.append(f"Original primary: {facts.primary}")
    if facts.review_reason and facts.purpose == "review":
        lines.append(f"Why review is needed: {facts.review_reason}")
    if facts.evidence:
        lines += ["", "Evidence:"] + [f"- {line}" for line in facts.evidence]
    lines += ["", f"Treating trust: {facts.trust_name} ({facts.trust_ods or 'ODS not known'})"]
    lines += ["", f"Alert reference: {facts.alert_id}"]
    lines += [
        "",
        "Attached: the same facts as a PDF letter (the GP practice letter, when one is sent).",
    ]
    return "\n".join(lines) + "\n"


def gp_not_told_email(
    *,
    notice_id: str,
    cns_alert_id: str,
    gp_alert_id: str,
    reason: str,
    sender: str,
    recipient: str,
    sent_at: datetime,
) -> Email:
    """ "The GP practice could not be told": a reply in the thread of the CNS alert the team
    already has (References/In-Reply-To), so it names no patient itself; the alert it follows
    does, on the same secure team address."""
    message_id = f"<{notice_id}@rmbc>"
    earlier = f"<{cns_alert_id}@rmbc>"
    headers = [
        ("From", sender),
        ("To", recipient),
        (
            "Subject",
            f"[rmbc GP not told] The GP practice could not be told - ref {cns_alert_id[:8]}",
        ),
        ("Date", format_datetime(sent_at)),
        ("Message-ID", message_id),
        ("References", earlier),
        ("In-Reply-To", earlier),
    ]
    text = "\n".join(
        [
            "THE GP PRACTICE COULD NOT BE TOLD of the alert this e-mail replies to.",
            "",
            f"Reason: {reason}",
            "",
            "Please make sure the patient's GP is informed (by telephone or letter), and check",
            "the patient's registered practice.",
            "",
            f"Alert reference: {cns_alert_id}",
            f"GP document reference: {gp_alert_id}",
        ]
    )
    data = multipart(
        headers,
        "mixed",
        [Part('text/plain; charset="utf-8"', (text + "\n").encode())],
        boundary=f"=_rmbc_{notice_id}",
    )
    return Email(sender, recipient, message_id, data)
