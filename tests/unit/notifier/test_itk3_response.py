import orjson
import pytest

from services.notifier.itk3_response import (
    Acknowledgement,
    acknowledgement_outcome,
    read_acknowledgement,
    report_outcome,
    response_message,
)
from tests.unit.notifier.factory import NOW

HEADER_ID = "c09aed80-b5a2-57ce-8328-1afe9187d009"


def answered(code: str) -> Acknowledgement:
    body = orjson.dumps(
        response_message(
            answers=HEADER_ID, code=code, sender_mailbox="X26ABC2", sender_ods="A81001", now=NOW
        )
    )
    return read_acknowledgement(body)


@pytest.mark.parametrize(
    ("code", "outcome", "negative"),
    [
        ("20013", "delivered", False),
        ("20007", "delivered", False),
        ("30001", "filed", False),
        ("30004", "filed", False),
        ("30002", "patient_not_registered", True),
        ("30003", "patient_not_registered", True),
        ("20009", "rejected", True),
        ("20014", "rejected", True),
    ],
)
def test_each_itk3_response_code_reads_back_as_the_alert_state_it_means(code, outcome, negative):
    ack = answered(code)
    assert (ack.answers, ack.code) == (HEADER_ID, code)
    meaning = acknowledgement_outcome(ack)
    assert (meaning.outcome, meaning.negative) == (outcome, negative)
    assert meaning.detail.startswith(f"ITK3 {code} ")


def test_a_message_that_is_not_an_itk3_response_is_refused_with_the_reason():
    message = response_message(
        answers=HEADER_ID, code="20013", sender_mailbox="X", sender_ods="A81001", now=NOW
    )
    message["entry"][0]["resource"]["event"]["code"] = "ITK007C"
    with pytest.raises(ValueError, match="event ITK007C"):
        read_acknowledgement(orjson.dumps(message))
    del message["entry"][0]["resource"]["response"]
    with pytest.raises(ValueError, match="no MessageHeader with a response"):
        read_acknowledgement(orjson.dumps(message))


def test_mesh_reports_say_not_collected_for_error_14_and_rejected_otherwise():
    assert report_outcome("14", "not collected").outcome == "not_collected"
    rejected = report_outcome("EPL-151", "No mailbox matched")
    assert (rejected.outcome, rejected.negative) == ("rejected", True)
    assert rejected.detail == "MESH error EPL-151 No mailbox matched"
