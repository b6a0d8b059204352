from datetime import UTC, datetime

import pytest

from services.ingest.acceptance import Accepted, Refused, ResourceInRequest, plan
from services.ingest.errors import InvalidInput
from services.ingest.fhir.bundles import read_bundle
from services.ingest.patients import PatientIndex, context_from_patient
from shared.events import Sender
from tests.unit.ingest.samples import (
    GP_ODS,
    NHS_NUMBER,
    NHS_SYSTEM,
    OTHER_NHS_NUMBER,
    bundle,
    condition,
    message,
    observation,
    patient,
)

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
SENDER = Sender(channel="http", client="token-test")


def run(items, index=None, correlation_id="corr-1"):
    return plan(
        items,
        index=index or PatientIndex(),
        sender=SENDER,
        correlation_id=correlation_id,
        now=NOW,
        accept_test_numbers=True,  # fixtures use test-range numbers
    )


def accepted(outcomes):
    assert all(isinstance(o, Accepted) for o in outcomes), outcomes
    return [o.event for o in outcomes]


def test_the_same_resource_version_always_gets_the_same_event_id():
    first = accepted(run([ResourceInRequest(condition(), "Condition")], correlation_id="a"))
    second = accepted(run([ResourceInRequest(condition(), "Condition")], correlation_id="b"))
    assert first[0].event_id == second[0].event_id
    assert first[0].correlation_id != second[0].correlation_id


def test_a_new_version_of_a_resource_gets_a_new_event_id():
    first = accepted(run([ResourceInRequest(condition(version="1"), "Condition")]))
    second = accepted(run([ResourceInRequest(condition(version="2"), "Condition")]))
    assert first[0].event_id != second[0].event_id


def test_without_version_id_the_event_id_follows_the_content():
    same = accepted(run([ResourceInRequest(condition(version=None), "Condition")]))
    again = accepted(run([ResourceInRequest(condition(version=None), "Condition")]))
    changed = accepted(
        run([ResourceInRequest(condition(version=None, onsetDateTime="2024-06"), "Condition")])
    )
    assert same[0].event_id == again[0].event_id != changed[0].event_id


def test_the_event_keeps_the_resource_as_received_and_dates_from_last_updated():
    resource = condition()
    event = accepted(run([ResourceInRequest(resource, "Condition")]))[0]
    assert event.resource == resource
    assert event.occurred_at == datetime(2025, 2, 3, 10, 15, tzinfo=UTC)
    assert event.recorded_at == NOW
    assert (event.resource_type, event.resource_id, event.version_id) == ("Condition", "c1", "1")


def test_without_meta_the_event_occurs_at_the_recorded_date():
    resource = condition(version=None)
    event = accepted(run([ResourceInRequest(resource, "Condition")]))[0]
    assert event.occurred_at == datetime(2024, 5, 2, 9, 0, tzinfo=UTC)


def test_a_condition_in_a_transaction_carries_the_bundles_patient_via_urn_uuid():
    raw = bundle("transaction", [patient(), condition(subject={"reference": "placeholder"})])
    raw["entry"][1]["resource"]["subject"]["reference"] = raw["entry"][0]["fullUrl"]
    request = read_bundle(raw, max_entries=100)
    events = accepted(run(request.items))
    assert events[1].patient_key == NHS_NUMBER
    assert events[1].patient.gp_practice_ods == GP_ODS
    assert events[1].resource["subject"]["reference"] == "Patient/p1"


def test_a_relative_reference_resolves_from_an_earlier_patient_in_the_index():
    index = PatientIndex()
    index.remember(context_from_patient(patient(), "Patient/p1"))
    event = accepted(run([ResourceInRequest(observation(), "Observation")], index=index))[0]
    assert event.patient_key == NHS_NUMBER
    assert event.patient.gp_practice_ods == GP_ODS


def test_an_unknown_relative_reference_is_keyed_by_the_reference():
    event = accepted(run([ResourceInRequest(observation(), "Observation")]))[0]
    assert event.patient_key == "Patient/p1"
    assert event.patient.nhs_number is None


def test_an_unresolvable_urn_uuid_reference_is_refused_with_its_path():
    raw = bundle("transaction", [condition(subject={"reference": "urn:uuid:nowhere"})])
    outcomes = run(read_bundle(raw, max_entries=100).items)
    assert isinstance(outcomes[0], Refused)
    assert outcomes[0].issues[0].expression == "Bundle.entry[0].resource.subject.reference"
    assert outcomes[0].issues[0].code == "not-found"


def test_a_subject_nhs_number_that_contradicts_the_referenced_patient_is_refused():
    subject = {
        "reference": "Patient/p1",
        "identifier": {"system": NHS_SYSTEM, "value": OTHER_NHS_NUMBER},
    }
    raw = bundle("collection", [patient(), condition(subject=subject)])
    outcomes = run(read_bundle(raw, max_entries=100).items)
    assert isinstance(outcomes[0], Accepted)
    assert isinstance(outcomes[1], Refused)
    assert outcomes[1].issues[0].expression == "Bundle.entry[1].resource.subject.identifier.value"


def test_a_subject_that_is_not_a_patient_is_not_supported():
    outcomes = run([ResourceInRequest(condition(subject={"reference": "Group/g1"}), "Condition")])
    assert outcomes[0].issues[0].code == "not-supported"


def test_an_update_whose_body_id_differs_from_the_url_is_refused():
    outcomes = run([ResourceInRequest(condition("c1"), "Condition", request_url="Condition/c2")])
    assert outcomes[0].issues[0].expression == "Condition.id"


def test_a_create_without_id_takes_the_uuid_of_its_full_url():
    resource = condition()
    del resource["id"]
    raw = bundle("transaction", [resource])
    event = accepted(run(read_bundle(raw, max_entries=100).items))[0]
    assert event.resource_id == "00000000-0000-4000-8000-000000000000"
    assert event.resource["id"] == event.resource_id  # downstream tells resources apart by id


def test_two_creates_without_id_or_full_url_get_distinct_ids_in_their_events():
    first, second = condition(), condition()
    del first["id"], second["id"]
    second["onsetDateTime"] = "2024-01-02"
    raw = bundle("batch", [first, second])
    for entry in raw["entry"]:
        entry.pop("fullUrl", None)
    events = accepted(run(read_bundle(raw, max_entries=100).items))
    ids = [event.resource["id"] for event in events]
    assert len(set(ids)) == 2 and ids == [event.resource_id for event in events]


def test_a_message_bundle_starts_with_its_header_and_carries_its_id():
    request = read_bundle(message([patient(), condition()], header_id="mh-7"), max_entries=100)
    assert request.message_id == "mh-7"
    assert request.atomic
    assert [i.resource["resourceType"] for i in request.items] == ["Patient", "Condition"]
    assert [i.at for i in request.items] == ["Bundle.entry[1].resource", "Bundle.entry[2].resource"]


def test_a_message_bundle_without_a_header_first_is_refused():
    with pytest.raises(InvalidInput) as refused:
        read_bundle(bundle("message", [condition()]), max_entries=100)
    assert refused.value.issues[0].expression == "Bundle.entry[0].resource.resourceType"


def test_a_bundle_over_the_entry_limit_is_413():
    with pytest.raises(InvalidInput) as refused:
        read_bundle(bundle("batch", [condition(f"c{i}") for i in range(3)]), max_entries=2)
    assert refused.value.status == 413
