"""The stored state: a head every event reads and a body only a changed record reads, and the
single document stored before the split still read as it was."""

from datetime import UTC, datetime

import orjson

from services.classifier.core import handle, reflag
from services.classifier.flags import FlagContext
from services.classifier.state import PatientState
from services.classifier.terminology import load_terminology
from shared.events import PatientContext
from tests.scenarios.build import ICD, Case

NOW = datetime(2024, 1, 1, tzinfo=UTC)
CONTEXT = FlagContext("p", NOW, NOW, "c")
LOINC_SYSTOLIC = ("http://loinc.org", "8480-6")


def stored_state() -> tuple[bytes, Case]:
    case = Case(1).remitted_primary().condition("met", (ICD, "C79.5"), "2021-04-02")
    state = PatientState()
    for resource in case.resources:
        state = handle(state, resource, None, load_terminology(), CONTEXT).state
    assert state.emitted, "the case raises a flag"
    return state.to_bytes(), case


def test_routine_events_and_new_demographics_never_read_the_body() -> None:
    data, case = stored_state()
    head = data.split(b"\n")[0]
    unreadable = head + b"\n" + b"not JSON: any read of the body would fail"
    routine = case.observation("bp", LOINC_SYSTOLIC, "0", "2021-05-01").resources[-1]
    state = PatientState.from_bytes(unreadable)
    assert not handle(state, routine, None, load_terminology(), CONTEXT).changed
    moved = handle(
        state, routine, PatientContext(gp_practice_ods="B86001"), load_terminology(), CONTEXT
    )
    assert moved.changed and moved.flags == []
    written = moved.state.to_bytes()
    assert written.endswith(b"\nnot JSON: any read of the body would fail")
    assert orjson.loads(written.split(b"\n")[0])["p"] == {"gp_practice_ods": "B86001"}


def test_a_changed_record_reads_the_body_and_writes_it_anew() -> None:
    data, case = stored_state()
    correction = case.condition(
        "met", (ICD, "C79.5"), "2021-04-02", verification="entered-in-error", version=2
    )
    change = handle(
        PatientState.from_bytes(data), correction.resources[-1], None, load_terminology(), CONTEXT
    )
    assert [flag.state for flag in change.flags] == ["retracted"]
    head, body = change.state.to_bytes().split(b"\n")
    assert len(orjson.loads(body)["r"]) == len(orjson.loads(head)["k"]) == 2


def test_the_single_document_stored_before_the_split_reads_as_the_same_state() -> None:
    data, _ = stored_state()
    head, body = (orjson.loads(line) for line in data.split(b"\n"))
    rows = [{"k": key, **row} for key, row in zip(head["k"], body["r"], strict=True)]
    single = orjson.dumps({"r": rows, "p": head["p"], "f": body["f"]})
    assert b"\n" not in single
    old = PatientState.from_bytes(single)
    assert old == PatientState.from_bytes(data)
    assert reflag(old, CONTEXT).flags == []  # its flags are known: nothing is sent again
    assert old.to_bytes() == data  # written back in the new form
