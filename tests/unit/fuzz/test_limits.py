"""Each input limit of ingest, at the limit and one past it: body size, Bundle entries, JSON
nesting depth, MLLP frame size."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import orjson

from services.ingest.fhir.request_body import json_depth
from services.ingest.limits import MAX_JSON_DEPTH
from tests.unit.fuzz.corpus import END, MAX_BODY_BYTES, MAX_BUNDLE_ENTRIES, START
from tests.unit.fuzz.harness import AUTH, fhir_client
from tests.unit.ingest import hl7_samples
from tests.unit.ingest.mllp_support import FakeAccepter, err_locations, listener, msa, segments
from tests.unit.ingest.samples import bundle, condition, patient

FHIR = {**AUTH, "Content-Type": "application/fhir+json"}


def condition_of_size(size: int) -> bytes:
    """A valid Condition whose JSON is exactly `size` bytes long."""
    empty = orjson.dumps({**condition(), "note": [{"text": ""}]})
    return orjson.dumps({**condition(), "note": [{"text": "x" * (size - len(empty))}]})


def nested_extensions(levels: int) -> dict[str, Any]:
    extension: dict[str, Any] = {"url": "https://example.org/leaf", "valueString": "x"}
    for _ in range(levels - 1):
        extension = {"url": "https://example.org/branch", "extension": [extension]}
    return {**condition(), "extension": [extension]}


def nested_arrays(depth: int) -> bytes:
    """A Condition with one member whose value nests arrays until the document is `depth` deep."""
    inner = depth - 1  # the Condition object itself is the first level
    return orjson.dumps(condition())[:-1] + b',"zzz":' + b"[" * inner + b"]" * inner + b"}"


async def test_a_body_of_exactly_the_limit_is_stored_and_one_byte_more_is_413() -> None:
    async with fhir_client() as (client, publisher):
        at_limit = await client.post(
            "/fhir/Condition", headers=FHIR, content=condition_of_size(MAX_BODY_BYTES)
        )
        over = await client.post(
            "/fhir/Condition", headers=FHIR, content=condition_of_size(MAX_BODY_BYTES + 1)
        )
    assert at_limit.status_code == 201, at_limit.text
    assert over.status_code == 413
    assert over.json()["issue"][0]["code"] == "too-costly"
    assert len(publisher.sent) == 1


async def test_a_chunked_body_without_content_length_is_cut_off_at_the_limit() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        body = condition_of_size(MAX_BODY_BYTES + 1)
        for start in range(0, len(body), 4096):
            yield body[start : start + 4096]

    async with fhir_client() as (client, publisher):
        response = await client.post("/fhir/Condition", headers=FHIR, content=chunks())
    assert response.status_code == 413
    assert publisher.sent == []


async def test_a_bundle_of_exactly_the_entry_limit_is_stored_and_one_entry_more_is_413() -> None:
    def with_entries(count: int) -> bytes:
        resources = [patient()] + [condition(f"c{i}") for i in range(count - 1)]
        return orjson.dumps(bundle("transaction", resources))

    async with fhir_client(max_body_bytes=1_000_000) as (client, publisher):
        at_limit = await client.post(
            "/fhir", headers=FHIR, content=with_entries(MAX_BUNDLE_ENTRIES)
        )
        over = await client.post(
            "/fhir", headers=FHIR, content=with_entries(MAX_BUNDLE_ENTRIES + 1)
        )
    assert at_limit.status_code == 200, at_limit.text
    assert over.status_code == 413
    assert over.json()["issue"][0]["expression"] == ["Bundle.entry"]
    assert len(publisher.sent) == MAX_BUNDLE_ENTRIES


async def test_valid_extensions_nested_within_the_depth_limit_are_stored() -> None:
    document = nested_extensions(31)
    assert json_depth(document) == MAX_JSON_DEPTH - 1
    async with fhir_client() as (client, publisher):
        response = await client.post(
            "/fhir/Condition", headers=FHIR, content=orjson.dumps(document)
        )
    assert response.status_code == 201, response.text
    assert len(publisher.sent) == 1


async def test_json_nested_exactly_to_the_limit_is_read_and_one_level_deeper_is_413() -> None:
    async with fhir_client() as (client, _):
        at_limit = await client.post(
            "/fhir/Condition", headers=FHIR, content=nested_arrays(MAX_JSON_DEPTH)
        )
        over = await client.post(
            "/fhir/Condition", headers=FHIR, content=nested_arrays(MAX_JSON_DEPTH + 1)
        )
        far_over = await client.post("/fhir/Condition", headers=FHIR, content=nested_arrays(5000))
    assert at_limit.status_code == 422  # read, then refused for the unknown element
    assert at_limit.json()["issue"][0]["expression"] == ["Condition.zzz"]
    for response in (over, far_over):
        assert response.status_code == 413
        issue = response.json()["issue"][0]
        assert issue["code"] == "too-costly"
        assert f"deeper than {MAX_JSON_DEPTH} levels" in issue["diagnostics"]


async def test_a_deployment_can_lower_the_depth_limit() -> None:
    async with fhir_client(max_json_depth=20) as (client, _):
        response = await client.post(
            "/fhir/Condition", headers=FHIR, content=orjson.dumps(nested_extensions(12))
        )
    assert response.status_code == 413


def padded_oru(size: int) -> bytes:
    """A good ORU^R01 whose frame content is exactly `size` bytes (padding in an NTE)."""
    message = hl7_samples.oru().encode()
    note = b"\rNTE|1||"
    return message + note + b"x" * (size - len(message) - len(note))


async def test_an_mllp_frame_of_exactly_the_limit_is_read_and_one_byte_more_gets_ar() -> None:
    limit = 4_000
    accepter = FakeAccepter()
    async with listener(accepter, max_frame_bytes=limit) as (port, metrics):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(START + padded_oru(limit) + END)
        at_limit = (await asyncio.wait_for(reader.readuntil(END), 5))[1:-2].decode()
        over_message = padded_oru(limit + 1).replace(b"MSG0001", b"MSG0002")
        writer.write(START + over_message + END)
        over = (await asyncio.wait_for(reader.readuntil(END), 5))[1:-2].decode()
        writer.close()
    assert msa(at_limit)[1] == "AA"
    assert msa(over)[1] == "AR"
    assert msa(over)[2] == "MSG0002"  # the answer still names the message
    assert err_locations(over) == ["MSH^1"]
    assert "exceeds the limit of 4000" in segments(over)["MSA"][0][3]
    assert len(accepter.calls) == 1
    assert metrics.bad_frames.labels("oversize")._value.get() == 1
