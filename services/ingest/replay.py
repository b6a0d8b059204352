"""`rmbc replay PATH...`: send FHIR JSON, NDJSON and HL7 v2 files to a running ingest.

JSON files (a resource or a Bundle) and NDJSON lines go over HTTP; `.hl7` files go over MLLP, one
message per frame. Bytes are sent as they are in the file: ingest does the validating. Exits 1 when
anything was refused or could not be delivered, so a script can tell.
"""

import argparse
import os
import socket
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import httpx
import orjson

from services.ingest.hl7.message import normalise_line_endings

JSON_SUFFIXES = {".json"}
NDJSON_SUFFIXES = {".ndjson", ".jsonl"}
HL7_SUFFIXES = {".hl7", ".er7"}
START_BLOCK, END_BLOCK = b"\x0b", b"\x1c\r"


@dataclass(frozen=True)
class StoredMessage:
    """One request body or HL7 message read from a file, to be sent again."""

    origin: str  # `path` or `path:line` or `path#n`, for the summary
    channel: str  # "http" or "mllp"
    body: bytes


@dataclass
class Summary:
    statuses: Counter[str] = field(default_factory=Counter)
    refused: list[tuple[str, str, str]] = field(default_factory=list)  # origin, status, detail
    accepted: int = 0
    skipped: list[str] = field(default_factory=list)

    @property
    def sent(self) -> int:
        return self.accepted + len(self.refused)

    def line(self) -> str:
        counts = ", ".join(f"{status} x{n}" for status, n in sorted(self.statuses.items()))
        return (
            f"replay: {self.sent} sent, {self.accepted} accepted, {len(self.refused)} refused"
            + (f" ({counts})" if counts else "")
        )


def collect(paths: Iterable[Path], skipped: list[str]) -> Iterator[StoredMessage]:
    for path in paths:
        if path.is_dir():
            yield from collect(sorted(p for p in path.rglob("*") if p.is_file()), skipped)
            continue
        suffix = path.suffix.lower()
        if suffix in JSON_SUFFIXES:
            yield StoredMessage(str(path), "http", path.read_bytes())
        elif suffix in NDJSON_SUFFIXES:
            for number, line in enumerate(path.read_bytes().splitlines(), start=1):
                if line.strip():
                    yield StoredMessage(f"{path}:{number}", "http", line)
        elif suffix in HL7_SUFFIXES:
            for number, message in enumerate(split_hl7(path.read_bytes()), start=1):
                yield StoredMessage(f"{path}#{number}", "mllp", message)
        else:
            skipped.append(str(path))


def split_hl7(data: bytes) -> list[bytes]:
    """Messages of an HL7 file: MLLP-framed, or plain text with each message starting at MSH."""
    if START_BLOCK in data:
        frames = [f.split(END_BLOCK[:1])[0] for f in data.split(START_BLOCK)[1:]]
        return [f for f in frames if f.strip()]
    text = normalise_line_endings(data.decode("latin-1"))
    messages: list[list[str]] = []
    for segment in text.split("\r"):
        if segment.startswith("MSH"):
            messages.append([])
        if segment.strip() and messages:
            messages[-1].append(segment)
    return ["\r".join(m).encode("latin-1") for m in messages]


def http_target(body: bytes) -> str:
    try:
        parsed: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        return "/fhir"  # ingest answers with what is wrong
    kind = parsed.get("resourceType") if isinstance(parsed, dict) else None
    if kind in ("Condition", "Observation", "Patient"):
        return f"/fhir/{kind}"
    return "/fhir"


class MllpSender:
    def __init__(self, address: tuple[str, int], timeout: float) -> None:
        self.address = address
        self.timeout = timeout
        self.sock: socket.socket | None = None
        self.buffer = b""

    def send(self, message: bytes) -> str:
        try:
            return self._exchange(message)
        except OSError:
            self.close()  # the next message starts on a fresh connection
            raise

    def _exchange(self, message: bytes) -> str:
        if self.sock is None:
            self.sock = socket.create_connection(self.address, timeout=self.timeout)
        self.sock.sendall(START_BLOCK + message + END_BLOCK)
        while END_BLOCK not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("ingest closed the MLLP connection")
            self.buffer += chunk
        frame, _, self.buffer = self.buffer.partition(END_BLOCK)
        return frame.lstrip(START_BLOCK).decode("utf-8", errors="replace")

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock, self.buffer = None, b""


def ack_code(ack: str) -> tuple[str, str]:
    code, text = "??", ""
    for segment in ack.split("\r"):
        fields = segment.split("|")
        if fields[0] == "MSA":
            code = fields[1] if len(fields) > 1 else "??"
            text = fields[3] if len(fields) > 3 else ""
        elif fields[0] == "ERR" and len(fields) > 8 and not text:
            text = f"{fields[2]}: {fields[8]}"
    return code, text


def replay(
    items: Iterable[StoredMessage],
    http: httpx.Client,
    mllp: MllpSender | None,
    progress: TextIO | None,
    summary: Summary,
) -> Summary:
    for item in items:
        try:
            status, ok, detail = _send(item, http, mllp)
        except (httpx.HTTPError, OSError) as error:
            status, ok, detail = "unreachable", False, f"{type(error).__name__}: {error}"
        summary.statuses[status] += 1
        if ok:
            summary.accepted += 1
        else:
            summary.refused.append((item.origin, status, detail))
        if progress is not None:
            progress.write("\r" + summary.line())
            progress.flush()
    if progress is not None:
        progress.write("\n")
    return summary


def _send(
    item: StoredMessage, http: httpx.Client, mllp: MllpSender | None
) -> tuple[str, bool, str]:
    if item.channel == "mllp":
        if mllp is None:
            return "no-mllp", False, "no --mllp address"
        code, text = ack_code(mllp.send(item.body))
        return code, code in ("AA", "CA"), text
    response = http.post(
        http_target(item.body),
        content=item.body,
        headers={"Content-Type": "application/fhir+json"},
    )
    status = str(response.status_code)
    refused = _refused_entries(response)
    if refused:
        return f"{status}+entry", False, refused
    return status, response.is_success, "" if response.is_success else _diagnostics(response)


def _refused_entries(response: httpx.Response) -> str:
    """A batch answers 200 even when entries were refused: look inside."""
    if not response.is_success:
        return ""
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict) or body.get("resourceType") != "Bundle":
        return ""
    bad = [
        f"entry[{n}] {entry['response']['status']}"
        for n, entry in enumerate(body.get("entry") or [])
        if isinstance(entry, dict)
        and not str((entry.get("response") or {}).get("status", "2")).startswith("2")
    ]
    return ", ".join(bad)


def _diagnostics(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    issues = body.get("issue", []) if isinstance(body, dict) else []
    return "; ".join(
        f"{(i.get('expression') or ['-'])[0]}: {i.get('diagnostics', '')}" for i in issues
    )[:300]


def parse_address(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {value!r}")
    return host, int(port)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="rmbc replay",
        description="Send FHIR JSON / NDJSON / HL7 v2 files (or directories of them) to ingest.",
        epilog=(
            "environment:\n"
            "  RMBC_REPLAY_URL     ingest HTTP base URL (default http://127.0.0.1:8080)\n"
            "  RMBC_REPLAY_TOKEN   bearer token for the FHIR API\n"
            "  RMBC_REPLAY_MLLP    ingest MLLP address HOST:PORT (default 127.0.0.1:2575)\n"
            "exit status: 0 all accepted, 1 something refused or undeliverable, 2 usage"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    parser.add_argument("--url", default=os.environ.get("RMBC_REPLAY_URL", "http://127.0.0.1:8080"))
    parser.add_argument("--token", default=os.environ.get("RMBC_REPLAY_TOKEN"))
    parser.add_argument(
        "--mllp",
        type=parse_address,
        default=parse_address(os.environ.get("RMBC_REPLAY_MLLP", "127.0.0.1:2575")),
        help="ingest MLLP address for .hl7 files",
    )
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per answer")
    parser.add_argument("--quiet", action="store_true", help="no progress line")
    args = parser.parse_args(argv)
    missing = [str(p) for p in args.paths if not p.exists()]
    if missing:
        print(f"rmbc replay: no such file: {', '.join(missing)}", file=sys.stderr)
        return 2
    headers = {"Authorization": f"Bearer {args.token}"} if args.token else {}
    summary = Summary()
    mllp = MllpSender(args.mllp, args.timeout)
    with httpx.Client(base_url=args.url, headers=headers, timeout=args.timeout) as http:
        try:
            replay(
                collect(args.paths, summary.skipped),
                http,
                mllp,
                None if args.quiet else sys.stderr,
                summary,
            )
        finally:
            mllp.close()
    report(summary, sys.stdout)
    return 0 if not summary.refused else 1


def report(summary: Summary, out: TextIO, limit: int = 20) -> None:
    out.write(summary.line() + "\n")
    for origin, status, detail in summary.refused[:limit]:
        out.write(f"  refused {origin}: {status} {detail}\n")
    if len(summary.refused) > limit:
        out.write(f"  ... and {len(summary.refused) - limit} more\n")
    for path in summary.skipped:
        out.write(f"  skipped {path}: not .json, .ndjson, .jsonl or .hl7\n")
