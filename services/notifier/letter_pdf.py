"""The letter as a PDF (pure: the same facts and time give the same bytes), with fpdf2.

Laid out after the GP Connect Messaging PDF guidance (nhsconnect/gpconnect-messaging,
`pages/senddocument/senddocument_fedcon_busreq_pdf.md` and `GP_Connect_Messaging_-_PDF_Layout.pdf`):
a title line, "Confidential: personal data", the document version and "Page x of y" on every page,
then the patient block (SURNAME, forename(s); date of birth; NHS number as ### ### ####), then the
body. The body answers, in this order, who, what was found, the evidence, what the GP should do
next, whether the patient has been told, and who to contact. Dates are written as people read them
(3 Dec 2026). No HTML, no system ids, no raw codes: only the plain words of `Facts`.

The core Helvetica font covers Latin-1; a character outside it (a name in another script, or the
U+FFFD that `facts.one_line` leaves for a control character) is printed as "?", never dropped.
"""

from collections.abc import Callable
from datetime import datetime

from fpdf import FPDF

from services.notifier.facts import Facts, readable_date

NHS_BLUE = (0, 94, 184)
TEXT = (33, 43, 50)
MARGIN_MM = 18
LABEL_WIDTH_MM = 48
LINE_MM = 5.5

NEXT_STEPS = {
    "alert": (
        "Please record this finding in the patient's GP record, and expect the hospital's breast "
        "team to lead treatment. If the patient contacts the practice, the breast clinical nurse "
        "specialist (CNS) team below can say what has been discussed with them."
    ),
    "review": (
        "No action is needed from the practice yet: the hospital team is reviewing this finding."
    ),
    "correction": (
        "Please file this document in place of the earlier one and disregard what the earlier "
        "document reported. No other action is needed because of this correction."
    ),
    "replacement": (
        "Please file this document in place of the earlier one: what is withdrawn above was "
        "recorded in error and should not stay in the patient's GP record. The rest of the "
        "finding stands as stated here."
    ),
    "update": (
        "For the breast team: the finding has more to it than the alert stated. The GP practice "
        "is not sent a new letter for an addition; the registry record is amended."
    ),
}
PATIENT_TOLD = (
    "The hospital's breast team tells the patient of this finding. rmbc does not know whether "
    "that conversation has happened yet: please check with the breast CNS team below before "
    "discussing it with the patient."
)


def document_title(facts: Facts) -> str:
    return {
        "alert": "Breast cancer alert",
        "review": "Breast cancer finding for review",
        "correction": "Correction of a breast cancer alert",
        "replacement": "Replacement of a breast cancer alert",
        "update": "Update to a breast cancer alert",
    }[facts.purpose]


def document_version(facts: Facts) -> int:
    """Version 1 is the first document about a finding; each replacement the next version."""
    return facts.version


def patient_heading(facts: Facts) -> str:
    """SURNAME, Forename(s), as the guidance writes names."""
    surname = (facts.family_name or "").upper()
    parts = [p for p in (surname, facts.given_names) if p]
    return ", ".join(parts) if parts else facts.patient_name


def spaced_nhs_number(nhs: str | None) -> str:
    if not nhs:
        return "not known"
    return f"{nhs[:3]} {nhs[3:6]} {nhs[6:]}" if len(nhs) == 10 else nhs


def letter_sections(facts: Facts, sent_at: datetime) -> list[tuple[str, list[tuple[str, str]]]]:
    """The letter's content as (heading, [(label, text)]) in reading order; a label may be ""."""
    patient = [
        ("Name", patient_heading(facts)),
        ("Date of birth", readable_date(facts.birth_date, "not recorded")),
        ("NHS number", spaced_nhs_number(facts.nhs_number)),
        ("GP practice", facts.gp_practice_ods or "not recorded"),
    ]
    found: list[tuple[str, str]] = []
    if facts.corrects and facts.purpose == "correction":
        reason = f" ({facts.retraction_reason})" if facts.retraction_reason else ""
        found.append(("", f"The finding the earlier document reported has been withdrawn{reason}."))
    if facts.withdrawn:
        found.append(("", "Part of what the earlier document reported has been withdrawn."))
        found.append(("Withdrawn", ", ".join(facts.withdrawn)))
    if facts.corrects:
        found.append(("Replaces document", facts.corrects))
    if facts.added:
        found.append(("Added since the alert", ", ".join(facts.added)))
    if facts.gp_not_reachable:
        found.append(("GP not reachable", facts.gp_not_reachable))
    found += [
        ("Finding", facts.finding),
        ("Sites", ", ".join(facts.sites) if facts.sites else "none recorded"),
        ("Date of the finding", readable_date(facts.episode_date)),
    ]
    if facts.primary:
        found.append(("Original cancer", facts.primary))
    if facts.review_reason and facts.purpose == "review":
        found.append(("Why review is needed", facts.review_reason))
    evidence = [("", line) for line in facts.evidence] or [("", "none recorded")]
    contact = [("Treating trust", f"{facts.trust_name} ({facts.trust_ods or 'ODS not known'})")]
    team = facts.cns_team
    if team is not None:
        contact.append(("Breast CNS team", team.name))
        contact += [("E-mail", team.email)] + ([("Telephone", team.phone)] if team.phone else [])
    contact.append(("Sent", f"{readable_date(sent_at.date())} {sent_at:%H:%M} UTC"))
    contact.append(("Reference", facts.alert_id))
    return [
        ("Patient", patient),
        ("What was found", found),
        ("Evidence in the hospital record", evidence),
        ("What the GP should do next", [("", NEXT_STEPS[facts.purpose])]),
        ("Has the patient been told?", [("", PATIENT_TOLD)]),
        ("Who to contact", contact),
    ]


class _Letter(FPDF):
    def __init__(self, title: str, version: int) -> None:
        super().__init__(format="A4")
        self._title = title
        self._version = version
        self.set_margins(MARGIN_MM, MARGIN_MM)
        self.set_auto_page_break(True, margin=MARGIN_MM + 6)
        self.alias_nb_pages()

    def header(self) -> None:
        self.set_font("Helvetica", "B", 15)
        self.set_text_color(*NHS_BLUE)
        self.cell(0, 8, _latin1(self._title), new_x="LMARGIN", new_y="NEXT")
        self.set_font("Helvetica", "", 9)
        self.set_text_color(*TEXT)
        line = f"Confidential: personal data    Version {self._version}    Page {self.page_no()} of {{nb}}"
        self.cell(0, 5, line, new_x="LMARGIN", new_y="NEXT")
        self.set_draw_color(*NHS_BLUE)
        self.set_line_width(0.6)
        self.line(MARGIN_MM, self.get_y() + 1, self.w - MARGIN_MM, self.get_y() + 1)
        self.ln(5)

    def footer(self) -> None:
        self.set_y(-MARGIN_MM)
        self.set_font("Helvetica", "", 8)
        self.set_text_color(*TEXT)
        self.cell(0, 5, f"Confidential: personal data    Page {self.page_no()} of {{nb}}")


def letter_pdf(facts: Facts, sent_at: datetime) -> bytes:
    pdf = _Letter(document_title(facts), document_version(facts))
    pdf.set_creation_date(sent_at)
    pdf.set_title(document_title(facts))
    pdf.set_author(_latin1(facts.trust_name))
    pdf.add_page()
    width = pdf.w - 2 * MARGIN_MM
    for heading, rows in letter_sections(facts, sent_at):
        pdf.set_font("Helvetica", "B", 12)
        pdf.set_text_color(*NHS_BLUE)
        pdf.cell(0, 7, heading, new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(*TEXT)
        for label, text in rows:
            indent = LABEL_WIDTH_MM if label else 0.0
            if label:
                pdf.set_font("Helvetica", "B", 10)
                pdf.cell(LABEL_WIDTH_MM, LINE_MM, _latin1(label))
            pdf.set_font("Helvetica", "", 10)
            for number, line in enumerate(_wrapped(pdf, _latin1(text), width - indent)):
                if number:
                    pdf.set_x(MARGIN_MM + indent)
                pdf.cell(width - indent, LINE_MM, line, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)
    return bytes(pdf.output())


def _wrapped(pdf: FPDF, text: str, width: float) -> list[str]:
    """Greedy word wrap measured with the current font: fpdf2's multi_cell measures every
    character again for every line it tries (about 10 ms a letter); this measures each word once.
    A word wider than the line is cut where it fills it."""
    measure = _measure(pdf)
    space = measure(" ")
    lines: list[str] = []
    line, used = "", 0.0
    for word in text.split(" "):
        size = measure(word)
        while size > width:  # a word longer than the line: cut it
            if line:
                lines.append(line)
                line, used = "", 0.0
            cut = len(word)
            while cut > 1 and measure(word[:cut]) > width:
                cut -= 1
            lines.append(word[:cut])
            word = word[cut:]
            size = measure(word)
        if line and used + space + size > width:
            lines.append(line)
            line, used = word, size
        else:
            line, used = (f"{line} {word}", used + space + size) if line else (word, size)
    lines.append(line)
    return lines


def _measure(pdf: FPDF) -> Callable[[str], float]:
    """The width of a text in the current core font, from its character widths (what
    `get_string_width` returns with no character spacing or stretching, which the letter never
    sets), without the text shaping pass `get_string_width` makes on every call (half a letter's
    rendering time)."""
    font, size_pt, k = pdf.current_font, pdf.font_size_pt, pdf.k
    assert font is not None

    def width(text: str) -> float:
        return float(font.get_text_width(text, size_pt, None)[1]) / k

    return width


def _latin1(text: str) -> str:
    return text.encode("latin-1", "replace").decode("latin-1")
