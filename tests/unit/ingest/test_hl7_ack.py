"""ACK building: codes per mode, which ACKs an enhanced-mode sender asked for, escaping."""

import pytest

from services.ingest.hl7.ack import ack_code, build_ack, should_send
from services.ingest.hl7.header import Header
from services.ingest.hl7.issues import Hl7Issue

ORIGINAL = Header(control_id="C1", trigger_event="R01", version="2.5.1")


def enhanced_header(accept: str) -> Header:
    return Header(control_id="C1", accept_ack_type=accept)


@pytest.mark.parametrize(
    ("outcome", "original", "enhanced"),
    [
        ("accepted", "AA", "CA"),
        ("transient", "AE", "CE"),
        ("error", "AE", "CR"),
        ("reject", "AR", "CR"),
    ],
)
def test_each_outcome_has_an_original_and_an_enhanced_code(
    outcome: str, original: str, enhanced: str
) -> None:
    assert ack_code(ORIGINAL, outcome, enhanced=True) == original  # type: ignore[arg-type]
    assert ack_code(enhanced_header("AL"), outcome, enhanced=True) == enhanced  # type: ignore[arg-type]
    assert ack_code(enhanced_header("AL"), outcome, enhanced=False) == original  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("accept", "on_success", "on_error"),
    [("AL", True, True), ("NE", False, False), ("ER", False, True), ("SU", True, False)],
)
def test_msh_15_decides_which_commit_acks_are_sent(
    accept: str, on_success: bool, on_error: bool
) -> None:
    header = enhanced_header(accept)
    assert should_send(header, "accepted", enhanced=True) is on_success
    assert should_send(header, "transient", enhanced=True) is on_error
    assert should_send(header, "transient", enhanced=False) is True


def test_err_text_is_escaped_so_the_ack_stays_parseable() -> None:
    ack = build_ack(
        ORIGINAL,
        "AE",
        [Hl7Issue("OBX^1^5", "102", "value a|b^c&d~e\\f")],
        control_id="A1",
        timestamp="20250101000000",
        text="bad | value",
    )
    msh, msa, err = ack.split("\r")
    assert msa == "MSA|AE|C1|bad \\F\\ value"
    assert (
        err == "ERR||OBX^1^5|102^Data type error^HL70357|E||||value a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f"
    )
    assert msh.split("|")[8] == "ACK^R01^ACK"
