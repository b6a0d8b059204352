"""The MLLP listener's behaviour: commit semantics, resends, encodings, connections, metrics."""

import asyncio

import hl7
from hl7.mllp import open_hl7_connection

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
    segments,
)


async def test_a_good_message_over_a_python_hl7_client_is_accepted_with_aa_after_accept() -> None:
    accepter = FakeAccepter()
    async with listener(accepter) as (port, metrics):
        reader, writer = await open_hl7_connection("127.0.0.1", port, encoding="utf-8")
        writer.writemessage(hl7.parse(s.adt()))
        await writer.drain()
        ack = await asyncio.wait_for(reader.readmessage(), 5)
        writer.close()
    assert str(ack.segment("MSA")[1]) == "AA"
    assert str(ack.segment("MSA")[2]) == "MSG0001"
    [(resources, sender)] = accepter.calls
    assert resources[0]["name"][0]["family"] == "BRONTË"
    assert (sender.channel, sender.client, sender.message_id) == ("mllp", "RX1", "MSG0001")
    assert metrics.messages.labels("ADT^A08", "AA")._value.get() == 1


async def test_the_ack_is_addressed_back_to_the_sender() -> None:
    async with listener(FakeAccepter()) as (port, _), raw_client(port) as client:
        ack = await client.request(s.oru())
    msh = segments(ack)["MSH"][0]
    assert msh[2:6] == ["RMBC", "RMBC", "EPR", "RX1"]
    assert msh[8] == "ACK^R01^ACK"
    assert msh[11] == "2.5.1"


async def test_a_resend_with_the_same_control_id_is_acked_aa_without_publishing_twice() -> None:
    accepter = FakeAccepter()
    async with listener(accepter) as (port, metrics), raw_client(port) as client:
        first = await client.request(s.oru())
        again = await client.request(s.oru(header=s.msh(stamp="20250314103500")))
    assert msa(first)[1] == msa(again)[1] == "AA"
    assert len(accepter.calls) == 1
    assert metrics.resends._value.get() == 1


async def test_the_same_control_id_from_another_facility_is_a_different_message() -> None:
    accepter = FakeAccepter()
    async with listener(accepter) as (port, _), raw_client(port) as client:
        await client.request(s.oru())
        other = await client.request(s.oru(header=s.msh(facility="RX2")))
    assert msa(other)[1] == "AA"
    assert len(accepter.calls) == 2


async def test_a_control_id_reused_for_different_content_is_refused_not_swallowed() -> None:
    accepter = FakeAccepter()
    async with listener(accepter) as (port, _), raw_client(port) as client:
        await client.request(s.oru())
        reused = await client.request(s.oru(s.obx(value="268910001^Improved^SCT")))
    assert msa(reused)[1] == "AE"
    assert err_locations(reused) == ["MSH^1^10"]
    assert len(accepter.calls) == 1


async def test_a_message_refused_while_the_broker_was_down_is_published_when_resent() -> None:
    accepter = FakeAccepter()
    accepter.fail_with = broker_down()
    async with listener(accepter) as (port, _), raw_client(port) as client:
        refused = await client.request(s.oru())
        accepter.fail_with = None
        resent = await client.request(s.oru())
    assert msa(refused)[1] == "AE"
    assert msa(resent)[1] == "AA"
    assert len(accepter.calls) == 1


async def test_an_unexpected_accepter_failure_is_an_ae_naming_the_message_and_not_transient() -> (
    None
):
    accepter = FakeAccepter()
    accepter.fail_with = RuntimeError("bug")
    async with listener(accepter) as (port, _), raw_client(port) as client:
        failed = await client.request(s.oru())
        accepter.fail_with = None
        ok = await client.request(s.oru(header=s.msh(control_id="MSG0002")))
    assert msa(failed)[1:3] == ["AE", "MSG0001"]
    assert "transient" not in failed
    assert msa(ok)[1] == "AA"


async def test_not_mapped_obx_is_named_in_the_aa_as_a_warning_and_counted() -> None:
    accepter = FakeAccepter()
    message = s.oru(s.obx("1"), s.obx("2", code="718-7^Haemoglobin^LN"))
    async with listener(accepter) as (port, metrics), raw_client(port) as client:
        ack = await client.request(message)
    assert msa(ack)[1] == "AA"
    [err] = segments(ack)["ERR"]
    assert (err[2], err[4]) == ("OBX^2^3", "W")
    assert "718-7" in err[8]
    assert metrics.not_mapped.labels("unsupported-observation-code")._value.get() == 1
    assert [r["resourceType"] for r in accepter.calls[0][0]] == ["Patient", "Observation"]


async def test_a_message_with_nothing_to_map_is_acked_without_calling_the_accepter() -> None:
    accepter = FakeAccepter()
    async with listener(accepter) as (port, _), raw_client(port) as client:
        ack = await client.request(s.oru(s.obx(code="718-7^Haemoglobin^LN")))
    assert msa(ack)[1] == "AA"
    assert err_locations(ack) == ["OBX^1^3"]
    assert accepter.calls == []


async def test_lf_separated_segments_are_accepted() -> None:
    accepter = FakeAccepter()
    async with listener(accepter) as (port, _), raw_client(port) as client:
        ack = await client.request(s.oru().replace("\r", "\n"))
    assert msa(ack)[1] == "AA"
    assert [r["resourceType"] for r in accepter.calls[0][0]] == ["Patient", "Observation"]


async def test_latin_1_declared_in_msh_18_is_decoded_and_answered_in_kind() -> None:
    accepter = FakeAccepter()
    message = s.adt(header=s.msh("ADT^A08", charset="8859/1"))
    async with listener(accepter) as (port, _), raw_client(port) as client:
        await client.send(START + message.encode("latin-1") + END)
        frame = await asyncio.wait_for(client.reader.readuntil(END), 5)
    assert b"MSA|AA|MSG0001" in frame
    assert b"|8859/1" in frame
    assert accepter.calls[0][0][0]["name"][0]["given"] == ["ZOË"]


async def test_enhanced_mode_answers_commit_accept_and_commit_error() -> None:
    accepter = FakeAccepter()
    async with listener(accepter, enhanced=True) as (port, _), raw_client(port) as client:
        accepted = await client.request(s.oru())
        accepter.fail_with = broker_down()
        failed = await client.request(s.oru(header=s.msh(control_id="MSG0002")))
        refused = await client.request(s.oru(header=s.msh(control_id="", accept_ack="AL")))
    assert [msa(a)[1] for a in (accepted, failed, refused)] == ["CA", "CE", "CR"]


async def test_enhanced_mode_with_accept_ack_never_sends_no_ack_but_still_publishes() -> None:
    accepter = FakeAccepter()
    async with listener(accepter, enhanced=True) as (port, _), raw_client(port) as client:
        await client.send(START + s.oru(header=s.msh(accept_ack="NE")).encode() + END)
        ack = await client.request(s.oru(header=s.msh(control_id="MSG0002")))
    assert msa(ack)[2] == "MSG0002"
    assert len(accepter.calls) == 2


async def test_many_connections_are_served_at_once() -> None:
    accepter = FakeAccepter()

    async def sender(port: int, n: int) -> list[str]:
        async with raw_client(port) as client:
            return [
                msa(await client.request(s.oru(header=s.msh(control_id=f"C{n}-{i}"))))[1]
                for i in range(5)
            ]

    async with listener(accepter) as (port, _):
        codes = await asyncio.gather(*(sender(port, n) for n in range(20)))
    assert {code for batch in codes for code in batch} == {"AA"}
    assert len(accepter.calls) == 100


async def test_a_truncated_frame_then_a_whole_one_gets_ar_then_aa() -> None:
    accepter = FakeAccepter()
    async with listener(accepter) as (port, metrics), raw_client(port) as client:
        whole = s.oru(header=s.msh(control_id="MSG0002")).encode()
        await client.send(START + s.oru().encode()[:150] + START + whole + END)
        first, second = await client.ack(), await client.ack()
    assert (msa(first)[1], msa(first)[2]) == ("AR", "MSG0001")
    assert (msa(second)[1], msa(second)[2]) == ("AA", "MSG0002")
    assert metrics.bad_frames.labels("truncated")._value.get() == 1


async def test_a_frame_that_stalls_gets_ar_and_the_connection_is_closed() -> None:
    async with listener(FakeAccepter(), frame_timeout=0.2) as (port, _), raw_client(port) as client:
        await client.send(START + s.oru().encode()[:150])
        ack = await client.ack()
        assert await client.closed()
    assert msa(ack)[1] == "AR"


async def test_bytes_between_frames_are_skipped() -> None:
    accepter = FakeAccepter()
    async with listener(accepter) as (port, _), raw_client(port) as client:
        await client.send(b"noise\r\n")
        ack = await client.request(s.oru())
    assert msa(ack)[1] == "AA"


async def test_a_peer_that_does_not_speak_mllp_is_disconnected() -> None:
    async with listener(FakeAccepter(), max_frame_bytes=1000) as (port, _), raw_client(port) as c:
        await c.send(b"GET / HTTP/1.1\r\n" * 100)
        assert await c.closed()


async def test_an_oversize_frame_is_refused_and_the_next_message_is_served() -> None:
    accepter = FakeAccepter()
    big = s.oru(*[s.obx(str(n)) for n in range(1, 200)])
    async with listener(accepter, max_frame_bytes=5000) as (port, _), raw_client(port) as client:
        refused = await client.request(big)
        ok = await client.request(s.oru(header=s.msh(control_id="MSG0002")))
    assert "exceeds the limit of 5000" in refused
    assert msa(ok)[1] == "AA"
    assert len(accepter.calls) == 1
