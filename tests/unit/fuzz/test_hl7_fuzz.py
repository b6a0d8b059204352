"""Thousands of malformed HL7 v2 messages through the real MLLP listener: one ACK each, no crash.

All cases go down one connection, in order, so a frame that killed the connection or got two
answers (or none) shows at once. The listener is on loopback with the real ingest core behind it.
"""

import asyncio
import logging
from collections import Counter

import pytest

from tests.unit.fuzz.corpus import END, START, cohort_seeds, frame, hl7_cases
from tests.unit.fuzz.harness import error_records, mllp_listener, watching_the_loop

HL7_CASES = 5_000
SEED = 20_261_126
REFUSALS = {"AE", "AR", "CE", "CR"}


@pytest.fixture(scope="module")
def seeds():
    return cohort_seeds()


def msa_code(ack: bytes) -> str:
    for segment in ack.decode("utf-8", errors="replace").split("\r"):
        fields = segment.split("|")
        if fields[0] == "MSA" and len(fields) > 1:
            return fields[1]
    return "no MSA"


def with_control_id(message: str, control_id: str) -> str:
    msh, rest = message.split("\r", 1)
    fields = msh.split("|")
    fields[9] = control_id
    return "|".join(fields) + "\r" + rest


async def read_ack(reader: asyncio.StreamReader) -> bytes:
    answer = await asyncio.wait_for(reader.readuntil(END), 10)
    assert answer.startswith(START), answer[:80]
    return answer[1:-2]


async def test_thousands_of_malformed_hl7_messages_each_get_one_ack_on_one_connection(
    seeds, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    codes: Counter[str] = Counter()
    by_kind: dict[str, Counter[str]] = {}
    async with watching_the_loop() as loop_failures, mllp_listener() as (port, publisher, metrics):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for case in hl7_cases(seeds, HL7_CASES, SEED):
            writer.write(case.frame)
            await writer.drain()
            code = msa_code(await read_ack(reader))
            codes[code] += 1
            by_kind.setdefault(case.kind, Counter())[code] += 1
        # the same connection still takes a good message
        writer.write(frame(with_control_id(seeds.hl7[0], "FUZZ-AFTERWARDS").encode()))
        await writer.drain()
        last = msa_code(await read_ack(reader))
        writer.close()
        await writer.wait_closed()
        open_connections = metrics.connections._value.get()

    print(f"\nHL7 fuzz: {sum(codes.values())} frames, MSA codes {dict(codes)}")
    assert sum(codes.values()) == HL7_CASES
    assert set(codes) <= REFUSALS | {"AA"}
    assert codes["AR"] + codes["AE"] > HL7_CASES * 0.8
    # damage that can never be stored is always refused; a truncation at a segment boundary or
    # a mutated field the profile does not read may leave a storable message (AA)
    assert by_kind["oversized"].keys() == {"AR"}
    assert by_kind["wrong_encoding"].keys() <= REFUSALS
    assert last == "AA"
    assert error_records(caplog.records) == []
    assert loop_failures.contexts == []
    assert open_connections <= 1
    assert all(topic == "clinical-events" for topic, _, _ in publisher.sent)
