"""`rmbc replay`: files to ingest, statuses summarised, non-zero exit when anything was refused."""

import asyncio
import io
from pathlib import Path

import httpx
import orjson

from services.ingest.replay import StoredMessage, Summary, collect, main, replay, split_hl7
from tests.unit.ingest import hl7_samples as s
from tests.unit.ingest.mllp_support import FakeAccepter, listener

CONDITION = {"resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/p"}}
BUNDLE = {"resourceType": "Bundle", "type": "batch", "entry": []}


def write_inputs(folder: Path) -> None:
    (folder / "one.json").write_bytes(orjson.dumps(CONDITION))
    (folder / "bundle.json").write_bytes(orjson.dumps(BUNDLE))
    (folder / "many.ndjson").write_bytes(
        orjson.dumps(CONDITION) + b"\n\n" + orjson.dumps(CONDITION)
    )
    (folder / "notes.txt").write_text("not for ingest")


def test_a_directory_yields_json_ndjson_lines_and_hl7_messages_and_names_what_it_skipped(
    tmp_path: Path,
) -> None:
    write_inputs(tmp_path)
    (tmp_path / "feed.hl7").write_text(s.oru() + "\n" + s.adt())
    skipped: list[str] = []
    items = list(collect([tmp_path], skipped))
    assert [(Path(i.origin).name, i.channel) for i in items] == [
        ("bundle.json", "http"),
        ("feed.hl7#1", "mllp"),
        ("feed.hl7#2", "mllp"),
        ("many.ndjson:1", "http"),
        ("many.ndjson:3", "http"),
        ("one.json", "http"),
    ]
    assert skipped == [str(tmp_path / "notes.txt")]


def test_hl7_files_split_into_messages_whether_framed_or_plain() -> None:
    plain = (s.oru() + "\n" + s.adt()).replace("\r", "\r\n").encode()
    framed = b"\x0b" + s.oru().encode() + b"\x1c\r\x0b" + s.adt().encode() + b"\x1c\r"
    assert split_hl7(plain) == split_hl7(framed) == [s.oru().encode(), s.adt().encode()]


def test_resources_and_bundles_go_to_their_endpoints_with_the_token_and_refusals_are_listed(
    tmp_path: Path,
) -> None:
    write_inputs(tmp_path)
    seen: list[tuple[str, str | None]] = []

    def ingest(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.path, request.headers.get("authorization")))
        if request.url.path == "/fhir":
            return httpx.Response(
                200, json={"resourceType": "Bundle", "entry": [{"response": {"status": "422"}}]}
            )
        return httpx.Response(201, json={"resourceType": "OperationOutcome"})

    http = httpx.Client(
        base_url="http://ingest",
        transport=httpx.MockTransport(ingest),
        headers={"Authorization": "Bearer t"},
    )
    progress = io.StringIO()
    summary = replay(collect([tmp_path], []), http, None, progress, Summary())
    assert sorted(path for path, _ in seen) == ["/fhir", *["/fhir/Condition"] * 3]
    assert {token for _, token in seen} == {"Bearer t"}
    assert (summary.accepted, summary.statuses["201"]) == (3, 3)
    [(origin, status, detail)] = summary.refused
    assert origin.endswith("bundle.json") and status == "200+entry" and "422" in detail
    assert (
        progress.getvalue()
        .rstrip()
        .endswith("4 sent, 3 accepted, 1 refused (200+entry x1, 201 x3)")
    )


def test_an_unreachable_ingest_counts_as_refused() -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    http = httpx.Client(base_url="http://ingest", transport=httpx.MockTransport(down))
    summary = replay([StoredMessage("x.json", "http", b"{}")], http, None, None, Summary())
    assert summary.refused[0][1] == "unreachable"


async def test_replay_of_hl7_files_exits_non_zero_when_a_message_is_refused(tmp_path: Path) -> None:
    feed = tmp_path / "feed.hl7"
    feed.write_text(
        "\n".join([s.oru(), s.oru(patient=s.pid(s.BAD_NHS)).replace("MSG0001", "MSG0002")])
    )
    good = tmp_path / "good.hl7"
    good.write_text(s.adt(header=s.msh("ADT^A08", control_id="MSG0003")))
    accepter = FakeAccepter()
    async with listener(accepter) as (port, _):
        refused = await asyncio.to_thread(
            main, [str(feed), "--mllp", f"127.0.0.1:{port}", "--quiet"]
        )
        accepted = await asyncio.to_thread(
            main, [str(good), "--mllp", f"127.0.0.1:{port}", "--quiet"]
        )
    assert (refused, accepted) == (1, 0)
    assert len(accepter.calls) == 2


def test_a_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    assert main([str(tmp_path / "absent.json")]) == 2
