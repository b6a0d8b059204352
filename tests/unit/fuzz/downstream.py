"""What happens to an accepted event after ingest, checked step by step: the classifier core, the
state's and the flag's encodings, the notifier's plan and every renderer.

Each check asserts; nothing here catches an exception. A patient starts with a confirmed breast
primary on record, so that a secondary in the generated input raises a flag and the renderers get
real work.
"""

import email
import email.message
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.policy import default
from html.parser import HTMLParser

from services.classifier.bounds import fitted, refusal
from services.classifier.core import Change, apply, current, handle
from services.classifier.flags import FlagContext
from services.classifier.settings import ClassifierSettings
from services.classifier.state import PatientState
from services.classifier.stream.agent import RECORD_OVERHEAD
from services.classifier.terminology import load_terminology
from services.notifier.cns_email import cns_email, plain_text
from services.notifier.decisions import EarlierAlert, plan_for
from services.notifier.facts import Facts, facts_for
from services.notifier.gp_message import mesh_document
from shared.codec import decode_as, encode
from shared.events import CancerFlag, ClinicalEvent, RegistryRecord
from tests.unit.notifier.factory import directory

# Kafka's default `message.max.bytes` (1 MiB plus record overhead): no event ingest publishes may
# be larger. The classifier holds each record it writes to its own, smaller limit.
KAFKA_MESSAGE_BYTES = 1_048_576
CLASSIFIER_LIMIT = ClassifierSettings.model_fields["max_message_bytes"].default
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TERMS = load_terminology()
DIRECTORY = directory()
SENDER = "rmbc-alerts@rmbc.invalid"

PRIMARY = {
    "resourceType": "Condition",
    "id": "fuzz-primary",
    "meta": {"versionId": "1", "lastUpdated": "2019-05-02T10:00:00Z"},
    "clinicalStatus": {
        "coding": [
            {
                "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                "code": "remission",
            }
        ]
    },
    "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "C50.4"}]},
    "bodySite": [{"coding": [{"system": "http://snomed.info/sct", "code": "80248007"}]}],
    "onsetDateTime": "2019-05-02",
}


def with_primary() -> PatientState:
    state = apply(PatientState(), PRIMARY, None, TERMS)
    assert state is not None
    return state


@dataclass
class Downstream:
    """One patient's path through the classifier and the notifier, event by event."""

    states: dict[str, PatientState] = field(default_factory=dict)
    flags: list[CancerFlag] = field(default_factory=list)

    def take(self, key: bytes, value: bytes) -> None:
        assert len(value) <= KAFKA_MESSAGE_BYTES, f"a clinical event of {len(value)} bytes"
        event = decode_as(value, ClinicalEvent)
        assert key == event.patient_key.encode()
        # what ingest accepts, the classifier can hold: nothing accepted is dead-lettered for it
        assert refusal(event.resource) is None
        self.classify(event)

    def classify(self, event: ClinicalEvent) -> None:
        state = self.states.get(event.patient_key) or with_primary()
        context = FlagContext(event.patient_key, NOW, event.occurred_at, event.correlation_id)
        self.settle(event.patient_key, handle(state, event.resource, event.patient, TERMS, context))

    def settle(self, patient_key: str, change: Change) -> None:
        """Store the state and send each flag as the classifier's worker does (app.py), then plan
        and render what the notifier makes of each flag as it reads it."""
        limit = CLASSIFIER_LIMIT - len(patient_key.encode()) - RECORD_OVERHEAD
        stored = change.state.to_bytes()
        assert len(stored) <= limit, f"a patient state of {len(stored)} bytes"
        read_back = PatientState.from_bytes(stored)
        assert current(read_back) == current(change.state)
        assert read_back.to_bytes() == stored
        self.states[patient_key] = read_back
        for flag in change.flags:
            data, left_out = fitted(flag, limit)
            assert len(data) <= limit, f"a flag of {len(data)} bytes"
            sent = decode_as(data, CancerFlag)
            assert sent == flag if not left_out else sent.evidence == flag.evidence[:-left_out]
            self.flags.append(sent)
            render_everything(sent)


def render_everything(flag: CancerFlag) -> None:
    """Every document the notifier would make for this flag, each read back as its reader would."""
    plan = plan_for(flag, DIRECTORY, earlier_alerts(flag), NOW)
    for delivery in plan.deliveries:
        facts = facts_for(flag, delivery, DIRECTORY)
        if delivery.channel == "mesh":
            body, content_type = mesh_document(facts, NOW, flag.patient.gp_practice_ods)
            assert content_type == "message/rfc822"
            check_gp_document(body, facts)
        else:
            sent = cns_email(facts, sender=SENDER, recipient=delivery.recipient, sent_at=NOW)
            check_cns_email(sent.data, facts, delivery.recipient)
    if plan.record is not None:
        data = encode(plan.record)
        assert len(data) <= KAFKA_MESSAGE_BYTES
        assert decode_as(data, RegistryRecord) == plan.record


def earlier_alerts(flag: CancerFlag) -> list[EarlierAlert]:
    """For a retraction: the alerts its raise sent, so that corrections are planned and rendered."""
    if flag.state != "retracted":
        return []
    raised = plan_for(flag.model_copy(update={"state": "raised"}), DIRECTORY, [], NOW)
    return [EarlierAlert(d.alert_id, d.channel, d.recipient, "sent") for d in raised.deliveries]


LETTER_TAGS = {
    "html", "head", "meta", "title", "style", "body", "h1", "h2", "table", "tr", "th", "td", "p",
    "strong", "ul", "li", "small",
}  # fmt: skip


class _Letter(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


LAYOUT_LINES = (
    "GP NOT REACHABLE: ", "This corrects ", "Reason: ", "Patient: ", "NHS number: ",
    "Date of birth: ", "GP practice: ", "Finding: ", "Sites: ", "Episode date: ",
    "Original primary: ", "Why review is needed: ", "Evidence:", "- ", "Treating trust: ",
    "Alert reference: ",
)  # fmt: skip
CONTROLS = {chr(c) for c in [*range(0x20), *range(0x7F, 0xA0)]} - {"\n"}


def check_letter(html: str, facts: Facts) -> None:
    """Content stays content: no tag but the letter's own, the patient's name reads whole, and
    no control character reaches the page."""
    assert CONTROLS.isdisjoint(html), [c for c in html if c in CONTROLS][:5]
    letter = _Letter()
    letter.feed(html)
    letter.close()
    assert letter.tags <= LETTER_TAGS, letter.tags - LETTER_TAGS
    assert facts.patient_name in "".join(letter.text)


def parsed(data: bytes) -> email.message.EmailMessage:
    message = email.message_from_bytes(data, policy=default)
    assert isinstance(message, email.message.EmailMessage)
    assert not message.defects, message.defects
    return message


def check_gp_document(body: bytes, facts: Facts) -> None:
    message = parsed(body)
    assert list(message.keys()) == ["Subject", "Message-ID", "MIME-Version", "Content-Type"]
    assert message["Message-ID"] == f"<{facts.alert_id}@rmbc>"
    html_part = message.get_body(("html",))
    assert html_part is not None
    check_letter(html_part.get_content(), facts)
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "communication.json"


def check_cns_email(data: bytes, facts: Facts, recipient: str) -> None:
    message = parsed(data)
    expected = ["From", "To", "Subject", "Date", "Message-ID"]
    if facts.corrects:
        expected += ["References", "In-Reply-To"]
    assert list(message.keys()) == [*expected, "MIME-Version", "Content-Type"]
    assert (message["From"], message["To"]) == (SENDER, recipient)
    if facts.nhs_number:
        assert facts.nhs_number not in str(message["Subject"])
    text_part = message.get_body(("plain",))
    html_part = message.get_body(("html",))
    assert text_part is not None and html_part is not None
    text = text_part.get_content()
    assert text == plain_text(facts)
    # each line is the layout's own: no value started a line (or a label) of its own
    for line in text.splitlines():
        assert not line or line.startswith(LAYOUT_LINES) or line == facts.headline, line
    check_letter(html_part.get_content(), facts)
