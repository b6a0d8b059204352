"""Bad MLLP input, each with the ACK it must get, against the real listener on a loopback port."""

from dataclasses import dataclass

import pytest

from services.ingest.errors import InvalidInput, Issue
from tests.unit.ingest import hl7_samples as s
from tests.unit.ingest.mllp_support import (
    END,
    START,
    FakeAccepter,
    broker_down,
    err_locations,
    listener,
    msa,
    raw_client,
)

MAX_FRAME = 4000


def frame(text: str, encoding: str = "utf-8") -> bytes:
    return START + text.encode(encoding) + END


@dataclass(frozen=True)
class Case:
    name: str
    data: bytes
    code: str
    location: str
    control_id: str = ""


GOOD = s.oru()
CASES = [
    Case("garbage frame", START + b"hello, is this HTTP?" + END, "AR", "MSH^1"),
    Case("binary garbage frame", START + bytes(range(32, 250)) + END, "AR", "MSH^1"),
    Case("empty frame", START + END, "AR", "MSH^1"),
    Case("no MSH", frame(GOOD.split("\r", 1)[1]), "AR", "MSH^1"),
    Case("truncated frame", START + GOOD.encode()[:120], "AR", "MSH^1", "MSG0001"),
    Case("unknown message type", frame(s.oru(header=s.msh("SIU^S12"))), "AR", "MSH^1^9", "MSG0001"),
    Case("unknown event", frame(s.oru(header=s.msh("ADT^A03"))), "AR", "MSH^1^9", "MSG0001"),
    Case("missing MSH-10", frame(s.oru(header=s.msh(control_id=""))), "AR", "MSH^1^10"),
    Case("wrong version", frame(s.oru(header=s.msh(version="2.2"))), "AR", "MSH^1^12", "MSG0001"),
    Case("training processing id", frame(s.oru(header=s.msh(processing="T"))), "AR", "MSH^1^11", "MSG0001"),
    Case("unknown character set", frame(s.oru(header=s.msh(charset="EBCDIC"))), "AR", "MSH^1^18", "MSG0001"),
    Case("latin-1 bytes declared UTF-8", frame(GOOD, "latin-1"), "AE", "MSH^1^18", "MSG0001"),
    Case("oversize frame", frame(s.oru(*[s.obx(str(n)) for n in range(1, 80)])), "AR", "MSH^1", "MSG0001"),
    Case("invalid NHS number", frame(s.oru(patient=s.pid(s.BAD_NHS))), "AE", "PID^1^3", "MSG0001"),
    Case("no patient identifier", frame(s.oru(patient="PID|1||||X^Y")), "AE", "PID^1^3", "MSG0001"),
    Case("bad birth date", frame(s.adt(patient=s.pid(birth="19700230"))), "AE", "PID^1^7", "MSG0001"),
    Case("bad observation date", frame(s.oru(s.obx(date="2025031425"))), "AE", "OBX^1^14", "MSG0001"),
    Case("bad message date", frame(s.oru(header=s.msh(stamp="yesterday"))), "AE", "MSH^1^7", "MSG0001"),
    Case("missing result status", frame(s.oru(s.obx(status=""))), "AE", "OBX^1^11", "MSG0001"),
    Case("missing PID", frame(s.msh() + "\rOBX|1|CWE|97509-4^S^LN"), "AE", "PID^1", "MSG0001"),
    Case("PPR without PRB", frame("\r".join([s.msh("PPR^PC1"), s.pid()])), "AE", "PRB^1", "MSG0001"),
    Case("unknown problem life cycle", frame(s.ppr(s.prb(life_cycle="gone"))), "AE", "PRB^1^14", "MSG0001"),
    Case("missing problem id", frame(s.ppr(s.prb(instance=""))), "AE", "PRB^1^4", "MSG0001"),
    Case("repeated OBX set id", frame(s.oru(s.obx("1"), s.obx("1"))), "AE", "OBX^2^1", "MSG0001"),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_bad_mllp_input_gets_a_negative_ack_and_publishes_nothing(case: Case) -> None:
    accepter = FakeAccepter()
    async with (
        listener(accepter, max_frame_bytes=MAX_FRAME) as (port, _),
        raw_client(port) as client,
    ):
        await client.send(case.data)
        if case.name == "truncated frame":
            client.writer.write_eof()  # the sender gave up mid-frame but still listens
        ack = await client.ack()
    assert msa(ack)[1] == case.code, ack
    assert case.location in err_locations(ack), ack
    assert msa(ack)[2] == case.control_id
    assert accepter.calls == []


def test_the_conformance_table_covers_at_least_twelve_bad_inputs() -> None:
    assert len(CASES) >= 12
    assert len({c.name for c in CASES}) == len(CASES)


async def test_a_broker_that_does_not_acknowledge_gets_a_transient_ae_never_aa() -> None:
    accepter = FakeAccepter()
    accepter.fail_with = broker_down()
    async with listener(accepter) as (port, metrics), raw_client(port) as client:
        ack = await client.request(s.oru())
    assert msa(ack)[1] == "AE"
    assert "transient" in msa(ack)[3]
    assert err_locations(ack) == ["MSH^1"]
    assert "207^Application internal error^HL70357" in ack
    assert metrics.messages.labels("ORU^R01", "AE")._value.get() == 1


async def test_content_the_accepter_refuses_is_answered_ae_at_the_segment_it_came_from() -> None:
    accepter = FakeAccepter()
    accepter.fail_with = InvalidInput(
        [Issue("required", "subject is required", "Bundle.entry[2].resource.subject")]
    )
    message = s.oru(s.obx("1"), s.obx("2", code="399387003^M^SCT", value="1229903009^cM1^SCT"))
    async with listener(accepter) as (port, _), raw_client(port) as client:
        ack = await client.request(message)
    assert msa(ack)[1] == "AE"
    assert err_locations(ack) == ["OBX^2"]
    assert "subject is required" in ack


async def test_an_accepter_issue_numbered_by_resource_is_located_at_that_segment() -> None:
    accepter = FakeAccepter()
    accepter.fail_with = InvalidInput(
        [Issue("value", "resource 2: status is not allowed", "Observation.status")]
    )
    message = s.oru(s.obx("1"), s.obx("2", code="399387003^M^SCT", value="1229903009^cM1^SCT"))
    async with listener(accepter) as (port, _), raw_client(port) as client:
        ack = await client.request(message)
    assert err_locations(ack) == ["OBX^2"]
