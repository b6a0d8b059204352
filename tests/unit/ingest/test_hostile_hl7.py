"""HL7 v2 a hostile or broken sender might send: every frame gets a definite answer naming its
MSH-10, a message that can never succeed is never called transient, and nothing the sender wrote
can break the ACK's MLLP frame."""

from typing import Any

import pytest

from services.ingest.errors import InvalidInput, Issue
from services.ingest.hl7.dates import BadDate, to_fhir_datetime, to_fhir_instant
from services.ingest.hl7.message import escape
from tests.unit.ingest import hl7_samples as s
from tests.unit.ingest.fakes import RecordingPublisher
from tests.unit.ingest.mllp_support import (
    END,
    START,
    FakeAccepter,
    listener,
    msa,
    raw_client,
    segments,
)
from tests.unit.ingest.test_accepter import core_with

YEAR_ZERO_IN_UTC = "00010101000000+1400"


@pytest.mark.parametrize("value", [YEAR_ZERO_IN_UTC, "99991231235959-0100"])
def test_an_hl7_time_outside_the_years_python_holds_in_utc_is_a_bad_date(value: str) -> None:
    with pytest.raises(BadDate):
        to_fhir_instant(value)
    with pytest.raises(BadDate):
        to_fhir_datetime(value)


async def test_msh_7_in_year_zero_in_utc_is_refused_naming_msh_10_and_never_transient() -> None:
    accepter = FakeAccepter()
    message = s.oru(s.obx(), header=s.msh(stamp=YEAR_ZERO_IN_UTC, control_id="Y0"))
    async with listener(accepter) as (port, _), raw_client(port) as client:
        ack = await client.request(message)
    assert msa(ack)[1:3] == ["AE", "Y0"]
    assert "transient" not in ack and "resend" not in ack
    assert any(err[2] == "MSH^1^7" for err in segments(ack)["ERR"])
    assert accepter.calls == []


async def test_prb_2_in_year_zero_in_utc_is_refused_naming_msh_10_and_never_transient() -> None:
    accepter = FakeAccepter()
    message = s.ppr(s.prb(action_date=YEAR_ZERO_IN_UTC), header=s.msh("PPR^PC1^PPR_PC1", "P0"))
    async with listener(accepter) as (port, _), raw_client(port) as client:
        ack = await client.request(message)
    assert msa(ack)[1:3] == ["AE", "P0"]
    assert "transient" not in ack
    assert any(err[2].startswith("PRB^1^2") for err in segments(ack)["ERR"])


def test_control_characters_are_escaped_as_hex_and_line_separators_become_spaces() -> None:
    assert escape("A\x1cB\x0bC\x00\x7f") == "A\\X1C\\B\\X0B\\C\\X00\\\\X7F\\"
    assert escape("a\u2028b\u2029c\x85d\re\nf") == "a b c d e f"


@pytest.mark.parametrize(
    "message",
    [
        s.oru(s.obx(), header=s.msh(facility="RX\\X1C\\1")),
        s.oru(s.obx(), header=s.msh(control_id="M\\X1C\\\\X0B\\1")),
        s.oru(s.obx(code="97509-4\\X1C\\^Cancer\\X0B\\ status^LN")),
    ],
    ids=["MSH-4", "MSH-10", "OBX-3"],
)
async def test_escaped_frame_bytes_in_sender_fields_cannot_break_the_ack_frame(
    message: str,
) -> None:
    async with listener(FakeAccepter()) as (port, _), raw_client(port) as client:
        await client.send(START + message.encode() + END)
        answer = await client.reader.readuntil(END)
        second = await client.request(s.oru(s.obx(), header=s.msh(control_id="NEXT")))
    body = answer[1:-2]
    assert answer.startswith(START) and b"\x1c" not in body and b"\x0b" not in body
    assert msa(body.decode())[1] in ("AA", "AE", "AR")
    assert msa(second)[1:3] == ["AA", "NEXT"]


class SizeRefusingAccepter(FakeAccepter):
    """Refuses as PublishingAccepter does an event over the topic's max.message.bytes."""

    async def accept(
        self, resources: list[dict[str, Any]], sender: Any, *, atomic: bool = True
    ) -> list[Any]:
        raise InvalidInput(
            [Issue("too-costly", "As an event this resource takes 2000000 bytes", "Observation")]
        )


async def test_a_message_too_large_for_the_topic_gets_ar_not_a_transient_ae() -> None:
    async with listener(SizeRefusingAccepter()) as (port, _), raw_client(port) as client:
        ack = await client.request(s.oru(s.obx(), header=s.msh(control_id="BIG1")))
    assert msa(ack)[1:3] == ["AR", "BIG1"]
    assert "transient" not in ack


async def test_a_message_mapping_to_more_resources_than_the_limit_gets_ar_naming_it() -> None:
    accepter = FakeAccepter()
    message = s.oru(*[s.obx(str(n)) for n in range(1, 7)], header=s.msh(control_id="MANY"))
    async with listener(accepter, max_resources=5) as (port, _), raw_client(port) as client:
        ack = await client.request(message)
    assert msa(ack)[1:3] == ["AR", "MANY"]
    assert "7 resources" in ack  # the six results and the Patient their PID describes
    assert accepter.calls == []


async def test_a_code_followed_by_300000_digits_over_mllp_is_refused_and_nothing_published() -> (
    None
):
    publisher = RecordingPublisher()
    problem = s.prb(code="C79.5" + "9" * 300_000 + "^Secondary malignant neoplasm of bone^I10")
    message = s.ppr(problem, header=s.msh("PPR^PC1^PPR_PC1", "LONGCODE"))
    async with listener(core_with(publisher)) as (port, _), raw_client(port) as client:
        ack = await client.request(message)
    assert msa(ack)[1:3] == ["AE", "LONGCODE"]
    assert any(err[2].startswith("PRB^1") for err in segments(ack)["ERR"])
    assert "128 characters" in ack
    assert publisher.sent == []


async def test_an_over_long_msh_10_is_refused_and_echoed_only_to_its_limit() -> None:
    control_id = "C" * 5000
    async with listener(FakeAccepter()) as (port, _), raw_client(port) as client:
        ack = await client.request(s.oru(s.obx(), header=s.msh(control_id=control_id)))
    assert msa(ack)[1:3] == ["AR", "C" * 199]
    assert any(err[2] == "MSH^1^10" for err in segments(ack)["ERR"])
