"""The GP practice's MESH message: a readable HTML letter and the same facts as a FHIR R4
Communication, sent together as one MIME multipart/mixed document (pure).

The MESH body is the whole MIME message, headers included (`message/rfc822`), so it describes
itself. Why MIME: GP systems and MESH tooling already handle MIME documents, each part keeps its own
content type (`text/html`, `application/fhir+json`), and any mail library can split it.
"""

from datetime import datetime
from html import escape
from typing import Any

import orjson

from services.notifier.facts import Facts
from services.notifier.mime import Part, multipart

NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
ODS_SYSTEM = "https://fhir.nhs.uk/Id/ods-organization-code"
ALERT_ID_SYSTEM = "urn:ietf:rfc:3986"


def subject(facts: Facts) -> str:
    """MESH subject: no patient identifier."""
    return facts.headline


def letter_html(facts: Facts, sent_at: datetime) -> str:
    e = _escaped
    rows = [
        ("Patient", facts.patient_name),
        ("NHS number", _spaced_nhs_number(facts.nhs_number)),
        ("Date of birth", facts.birth_date.isoformat() if facts.birth_date else "not recorded"),
    ]
    body = [f"<h1>{e(facts.headline)}</h1>", _table(rows)]
    if facts.gp_not_reachable:
        body.append(
            "<p><strong>GP not reachable:</strong> the GP practice was not told by rmbc "
            f"({e(facts.gp_not_reachable)}). Please make sure the GP is informed.</p>"
        )
    if facts.purpose == "correction":
        body.append(
            "<p><strong>Please disregard our earlier alert</strong> "
            f"(reference {e(facts.corrects or '')}). The finding it reported has been withdrawn"
            f"{': ' + e(facts.retraction_reason) if facts.retraction_reason else ''}.</p>"
        )
    body.append("<h2>What was found</h2>")
    body.append(_table(_finding_rows(facts)))
    if facts.evidence:
        body.append("<h2>Evidence in the hospital record</h2><ul>")
        body.extend(f"<li>{e(line)}</li>" for line in facts.evidence)
        body.append("</ul>")
    body.append("<h2>Who to contact</h2>")
    body.append(_table(_contact_rows(facts)))
    body.append(
        f"<p><small>Alert reference {e(facts.alert_id)}, sent {e(sent_at.isoformat())} by rmbc "
        "on behalf of the treating trust.</small></p>"
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{e(facts.headline)}</title><style>{_STYLE}</style></head><body>"
        + "".join(body)
        + "</body></html>"
    )


# Plain and printable: GP systems show letters in a document viewer, often without external CSS.
_STYLE = (
    "body{font-family:Arial,Helvetica,sans-serif;max-width:46em;margin:2em;color:#212b32}"
    "h1{font-size:1.4em;border-bottom:3px solid #005eb8;padding-bottom:.3em}"
    "h2{font-size:1.1em;margin-top:1.5em;color:#005eb8}"
    "th{text-align:left;padding:.2em 1em .2em 0;vertical-align:top}td{padding:.2em 0}"
    "li{margin:.3em 0}small{color:#4c6272}"
)


def communication(facts: Facts, sent_at: datetime, recipient_ods: str | None) -> dict[str, Any]:
    """The same facts as a FHIR R4 Communication resource."""
    resource: dict[str, Any] = {
        "resourceType": "Communication",
        "id": facts.alert_id,
        "identifier": [{"system": ALERT_ID_SYSTEM, "value": f"urn:uuid:{facts.alert_id}"}],
        "status": "completed",
        "category": [{"text": facts.headline}],
        "priority": "urgent" if facts.purpose == "alert" else "routine",
        "subject": {
            "display": facts.patient_name,
            **(
                {"identifier": {"system": NHS_NUMBER_SYSTEM, "value": facts.nhs_number}}
                if facts.nhs_number
                else {}
            ),
        },
        "sent": sent_at.isoformat(),
        "payload": [{"contentString": line} for line in _plain_lines(facts)],
    }
    if recipient_ods:
        resource["recipient"] = [{"identifier": {"system": ODS_SYSTEM, "value": recipient_ods}}]
    if facts.trust_ods:
        resource["sender"] = {
            "identifier": {"system": ODS_SYSTEM, "value": facts.trust_ods},
            "display": facts.trust_name,
        }
    if facts.corrects:
        resource["inResponseTo"] = [
            {"identifier": {"system": ALERT_ID_SYSTEM, "value": f"urn:uuid:{facts.corrects}"}}
        ]
    return resource


def mesh_document(facts: Facts, sent_at: datetime, recipient_ods: str | None) -> tuple[bytes, str]:
    """The MESH message body (a whole MIME document, headers included) and its content type."""
    document = multipart(
        [("Subject", subject(facts)), ("Message-ID", f"<{facts.alert_id}@rmbc>")],
        "mixed",
        [
            Part('text/html; charset="utf-8"', letter_html(facts, sent_at).encode()),
            Part(
                "application/fhir+json",
                orjson.dumps(
                    communication(facts, sent_at, recipient_ods), option=orjson.OPT_INDENT_2
                ),
                filename="communication.json",
            ),
        ],
        boundary=f"=_rmbc_{facts.alert_id}",
    )
    return document, "message/rfc822"


def _finding_rows(facts: Facts) -> list[tuple[str, str]]:
    rows = [("Finding", facts.finding)]
    rows.append(("Sites", ", ".join(facts.sites) if facts.sites else "none recorded"))
    rows.append(
        ("Episode date", facts.episode_date.isoformat() if facts.episode_date else "not known")
    )
    if facts.primary:
        rows.append(("Original primary", facts.primary))
    if facts.review_reason and facts.purpose == "review":
        rows.append(("Why review is needed", facts.review_reason))
    return rows


def _contact_rows(facts: Facts) -> list[tuple[str, str]]:
    rows = [("Treating trust", f"{facts.trust_name} ({facts.trust_ods or 'ODS not known'})")]
    team = facts.cns_team
    if team is not None:
        contact = ", ".join(part for part in (team.email, team.phone) if part)
        rows.append(("Breast CNS team", f"{team.name}: {contact}"))
    return rows


def _plain_lines(facts: Facts) -> list[str]:
    lines = [facts.headline]
    if facts.corrects:
        lines.append(f"Corrects alert {facts.corrects}.")
        if facts.retraction_reason:
            lines.append(f"Reason: {facts.retraction_reason}")
    lines += [f"{label}: {value}" for label, value in _finding_rows(facts)]
    lines += [f"Evidence: {line}" for line in facts.evidence]
    lines += [f"{label}: {value}" for label, value in _contact_rows(facts)]
    return lines


def _table(rows: list[tuple[str, str]]) -> str:
    cells = "".join(f"<tr><th>{_escaped(k)}</th><td>{_escaped(v)}</td></tr>" for k, v in rows)
    return f"<table>{cells}</table>"


def _escaped(text: str) -> str:
    return escape(text, quote=True)


def _spaced_nhs_number(nhs: str | None) -> str:
    if not nhs:
        return "not known"
    return f"{nhs[:3]} {nhs[3:6]} {nhs[6:]}" if len(nhs) == 10 else nhs
