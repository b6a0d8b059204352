"""Deterministic hostile input for ingest: malformed FHIR JSON, Bundles and HL7 v2 messages.

Every generator takes a seeded `random.Random`, so a run is repeatable and a failure names the case
that caused it (its kind and number). The seeds are real feed messages from the synthetic cohort,
damaged one way at a time: truncated, oversized, nested deeply, re-encoded, given huge numbers, bad
references, wrong types, broken framing.
"""

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from services.demo.cohort import generate_cohort

FHIR_JSON = "application/fhir+json"


@dataclass(frozen=True)
class HttpCase:
    kind: str
    number: int
    method: str
    path: str
    body: bytes
    content_type: str = FHIR_JSON

    def __str__(self) -> str:
        return f"{self.kind}#{self.number} {self.method} {self.path}"


@dataclass(frozen=True)
class Hl7Case:
    kind: str
    number: int
    frame: bytes  # the MLLP frame as sent, start and end blocks included

    def __str__(self) -> str:
        return f"{self.kind}#{self.number}"


@dataclass(frozen=True)
class Seeds:
    resources: list[tuple[str, dict[str, Any]]]  # (path, resource) of single-resource requests
    bundles: list[dict[str, Any]]
    hl7: list[str]


def cohort_seeds(patients: int = 12, seed: int = 7) -> Seeds:
    resources: list[tuple[str, dict[str, Any]]] = []
    bundles: list[dict[str, Any]] = []
    hl7: list[str] = []
    for delivery in generate_cohort(patients, seed=seed).deliveries:
        if delivery.expect != "accepted":
            continue
        if delivery.channel == "mllp":
            hl7.append(delivery.body.decode("utf-8"))
            continue
        document = orjson.loads(delivery.body)
        if document["resourceType"] == "Bundle":
            bundles.append(document)
        else:
            # PUT paths name the id; the fuzz posts, so the path is the type alone
            resources.append((f"/fhir/{document['resourceType']}", document))
    return Seeds(resources, bundles, hl7)


# --- FHIR JSON ---------------------------------------------------------------------------------

HUGE_NUMBERS = [
    b"1e400", b"-1e400", b"9" * 400, b"-" + b"9" * 5000, b"18446744073709551616",
    b"1" + b"0" * 20, b"0.0000000000000000000000000000000000001e-400", b"1E+99999", b"-0",
    b"123456789012345678901234567890.123456789",
]  # fmt: skip

BAD_REFERENCES: list[Any] = [
    "", "Patient/", "Patient", "urn:uuid:", "urn:uuid:not-a-uuid", "urn:uuid:" + "0" * 36,
    "Patient/../../etc/passwd", "http://evil.example/fhir/Patient/1", "Patient/" + "a" * 70_000,
    "Patient/\u0000", "Patient/\u202eevil", "#contained", "Observation/o1", "Patient/1/_history/x",
    5, None, [], {}, {"reference": "Patient/1"}, True, "Patient/ 1", "patient/1", "Patient//1",
]  # fmt: skip

ODD_VALUES: list[Any] = [
    None, True, False, 0, -1, 2**63, 1.5, "", " ", "\u0000", "\ud7ff\ue000", "x" * 5000, [], {},
    [None], [[]], {"": ""}, {"resourceType": "Patient"}, "2024-02-30", "9999-12-31T23:59:60Z",
    "\u202e\u200b", "<script>alert(1)</script>", "'; DROP TABLE events; --", "\\u0000", "%00",
]  # fmt: skip


def dumps(value: Any) -> bytes:
    return orjson.dumps(value)


def paths_of(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a node of a JSON document (object keys and array indexes)."""
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += paths_of(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += paths_of(child, (*prefix, index))
    return found


def replaced(document: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(document, dict):
        return {**document, head: replaced(document[head], rest, new)}
    copy = list(document)
    copy[head] = replaced(copy[head], rest, new)
    return copy


def removed(document: Any, path: tuple[Any, ...]) -> Any:
    if len(path) == 1:
        if isinstance(document, dict):
            return {k: v for k, v in document.items() if k != path[0]}
        return [v for i, v in enumerate(document) if i != path[0]]
    head = path[0]
    if isinstance(document, dict):
        return {**document, head: removed(document[head], path[1:])}
    copy = list(document)
    copy[head] = removed(copy[head], path[1:])
    return copy


def nested(depth: int, rng: random.Random) -> bytes:
    """Arrays and objects nested `depth` levels, as bytes (orjson refuses to write past 1024)."""
    opening, closing = [], []
    for _ in range(depth):
        if rng.random() < 0.5:
            opening.append(b"[")
            closing.append(b"]")
        else:
            opening.append(b'{"extension":[')
            closing.append(b"]}")
    return b"".join(opening) + b"1" + b"".join(reversed(closing))


def _pick_resource(seeds: Seeds, rng: random.Random) -> tuple[str, dict[str, Any]]:
    return rng.choice(seeds.resources)


def _with_raw_member(document: dict[str, Any], name: str, raw_value: bytes) -> bytes:
    return dumps(document)[:-1] + b',"' + name.encode() + b'":' + raw_value + b"}"


def fhir_truncated(seeds: Seeds, rng: random.Random) -> tuple[str, bytes]:
    path, document = _pick_resource(seeds, rng)
    data = dumps(document)
    return path, data[: rng.randrange(0, len(data) - 1)]


def fhir_bundle_truncated(seeds: Seeds, rng: random.Random) -> tuple[str, bytes]:
    data = dumps(rng.choice(seeds.bundles))
    return "/fhir", data[: rng.randrange(0, len(data) - 1)]


def fhir_oversized(seeds: Seeds, rng: random.Random) -> tuple[str, bytes]:
    path, document = _pick_resource(seeds, rng)
    padding = "x" * rng.randrange(MAX_BODY_BYTES, MAX_BODY_BYTES * 3)
    return path, dumps({**document, "text": {"status": "generated", "div": padding}})


def fhir_deeply_nested(seeds: Seeds, rng: random.Random) -> tuple[str, bytes]:
    path, document = _pick_resource(seeds, rng)
    depth = rng.choice([rng.randrange(60, 140), rng.randrange(140, 1100), rng.randrange(1, 3000)])
    member = rng.choice(["extension", "contained", "note", "modifierExtension", "zzz"])
    return path, _with_raw_member(document, member, nested(depth, rng))


def fhir_bundle_deeply_nested(seeds: Seeds, rng: random.Random) -> tuple[str, bytes]:
    bundle = rng.choice(seeds.bundles)
    depth = rng.randrange(30, 2000)
    return "/fhir", _with_raw_member(bundle, "entry", b"[" + nested(depth, rng) + b"]")


def fhir_wrong_encoding(seeds: Seeds, rng: random.Random) -> tuple[str, bytes]:
    path, document = _pick_resource(seeds, rng)
    text = dumps({**document, "language": "cy"}).decode().replace('"cy"', '"Ærwyn Brontë"')
    how = rng.choice(["utf-16", "utf-16-be", "utf-32", "latin-1", "cp1252", "bom", "bad-bytes"])
    if how == "bom":
        return path, b"\xef\xbb\xbf" + text.encode()
    if how == "bad-bytes":
        data = bytearray(text.encode())
        for _ in range(rng.randrange(1, 4)):
            data.insert(rng.randrange(len(data)), rng.choice([0x80, 0xC3, 0xFF, 0xFE, 0xED, 0x00]))
        return path, bytes(data)
    return path, text.encode(how, errors="replace")


def fhir_huge_number(seeds: Seeds, rng: random.Random) -> tuple[str, bytes]:
    path, document = _pick_resource(seeds, rng)
    target = rng.choice(paths_of(document)[1:])
    marker = "@@NUMBER@@"
    data = dumps(replaced(document, target, marker))
    return path, data.replace(f'"{marker}"'.encode(), rng.choice(HUGE_NUMBERS), 1)


def fhir_bad_reference(seeds: Seeds, rng: random.Random) -> tuple[str, bytes]:
    path, document = _pick_resource(seeds, rng)
    reference = rng.choice(BAD_REFERENCES)
    if "subject" in document:
        subject = {"reference": reference}
        if rng.random() < 0.3:
            subject["identifier"] = rng.choice(
                [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "0000000000"}, 5, []]
            )
        return path, dumps({**document, "subject": subject})
    return path, dumps({**document, "managingOrganization": {"reference": reference}})


def fhir_bundle_bad_reference(seeds: Seeds, rng: random.Random) -> tuple[str, bytes]:
    bundle = rng.choice(seeds.bundles)
    entries = list(bundle.get("entry", []))
    if not entries:
        return "/fhir", dumps(bundle)
    position = rng.randrange(len(entries))
    entry = dict(entries[position])
    if rng.random() < 0.5:
        entry["fullUrl"] = rng.choice(BAD_REFERENCES)
    resource = dict(entry.get("resource", {}))
    if "subject" in resource:
        resource["subject"] = {"reference": rng.choice(BAD_REFERENCES)}
    entry["resource"] = resource
    entries[position] = entry
    return "/fhir", dumps({**bundle, "entry": entries})


def fhir_wrong_type(seeds: Seeds, rng: random.Random) -> tuple[str, bytes]:
    path, document = _pick_resource(seeds, rng)
    target = rng.choice(paths_of(document))
    return path, dumps(replaced(document, target, rng.choice(ODD_VALUES)))


def fhir_element_removed(seeds: Seeds, rng: random.Random) -> tuple[str, bytes]:
    path, document = _pick_resource(seeds, rng)
    target = rng.choice(paths_of(document)[1:])
    return path, dumps(removed(document, target))


def fhir_bundle_wrong_type(seeds: Seeds, rng: random.Random) -> tuple[str, bytes]:
    bundle = rng.choice(seeds.bundles)
    target = rng.choice(paths_of(bundle))
    return "/fhir", dumps(replaced(bundle, target, rng.choice(ODD_VALUES)))


def fhir_bundle_shape(seeds: Seeds, rng: random.Random) -> tuple[str, bytes]:
    bundle = rng.choice(seeds.bundles)
    entries = bundle.get("entry", [])
    change = rng.randrange(8)
    if change == 0:  # far too many entries
        many = (entries * (MAX_BUNDLE_ENTRIES // max(1, len(entries)) + 2))[
            : MAX_BUNDLE_ENTRIES + 1
        ]
        return "/fhir", dumps({**bundle, "entry": many})
    if change == 1:  # a Bundle inside a Bundle
        return "/fhir", dumps({**bundle, "entry": [{"resource": bundle}]})
    if change == 2:
        return "/fhir", dumps({**bundle, "type": rng.choice(["document", "searchset", "", 1])})
    if change == 3:
        return "/fhir/$process-message", dumps(bundle)
    if change == 4:  # entries without resources or with odd requests
        odd = [{"request": {"method": rng.choice(["DELETE", "PATCH", "GET", ""]), "url": "x"}}]
        return "/fhir", dumps({**bundle, "entry": odd + entries})
    if change == 5:
        return "/fhir", dumps({**bundle, "entry": [rng.choice(ODD_VALUES) for _ in range(3)]})
    if change == 6:  # the same fullUrl twice
        return "/fhir", dumps({**bundle, "entry": entries + entries[:1]})
    return "/fhir", dumps({"resourceType": "Bundle", "type": "message", "entry": entries})


def fhir_garbage(seeds: Seeds, rng: random.Random) -> tuple[str, bytes]:
    path = rng.choice([p for p, _ in seeds.resources] + ["/fhir", "/fhir/$process-message"])
    how = rng.randrange(5)
    if how == 0:
        return path, rng.randbytes(rng.randrange(0, 2000))
    if how == 1:
        return path, rng.choice([b"", b"null", b"[]", b"1", b'"x"', b"{}", b"NaN", b"\x00"])
    if how == 2:  # duplicate keys: the last one wins in orjson
        return path, b'{"resourceType":"Condition","resourceType":"Patient","id":"x","id":1}'
    if how == 3:  # a resourceType that is not a string or not a type
        return path, dumps({"resourceType": rng.choice(ODD_VALUES)})
    data = bytearray(dumps(_pick_resource(seeds, rng)[1]))
    for _ in range(rng.randrange(1, 20)):
        data[rng.randrange(len(data))] = rng.randrange(256)
    return path, bytes(data)


NOT_STRINGS: list[Any] = [False, True, 1, -1.5, None, [], {}, ["http://x"], {"url": "x"}]


def fhir_url_not_a_string(seeds: Seeds, rng: random.Random) -> tuple[str, bytes]:
    """A url-typed element holding a JSON value that is not a string."""
    path, document = _pick_resource(seeds, rng)
    kind = document.get("resourceType")
    value = rng.choice(NOT_STRINGS)
    if kind == "Patient":
        return path, dumps({**document, "photo": [{"url": value}]})
    extension = {"url": "https://example.org/fhir/link", "valueUrl": value}
    return path, dumps({**document, "extension": [extension]})


def fhir_subject_without_anything(seeds: Seeds, rng: random.Random) -> tuple[str, bytes]:
    """A subject whose identifier has no system or value, and no reference."""
    path, document = _pick_resource(seeds, rng)
    identifier = rng.choice([{}, {"system": "https://fhir.nhs.uk/Id/nhs-number"}, {"value": "x"}])
    subject = rng.choice([{"identifier": identifier}, {"identifier": identifier, "display": "x"}])
    if "subject" in document:
        return path, dumps({**document, "subject": subject})
    return path, dumps({**document, "managingOrganization": subject})


MAX_BODY_BYTES = 64_000
MAX_BUNDLE_ENTRIES = 50

FHIR_MUTATORS: list[Callable[[Seeds, random.Random], tuple[str, bytes]]] = [
    fhir_truncated, fhir_bundle_truncated, fhir_oversized, fhir_deeply_nested,
    fhir_bundle_deeply_nested, fhir_wrong_encoding, fhir_huge_number, fhir_bad_reference,
    fhir_bundle_bad_reference, fhir_wrong_type, fhir_element_removed, fhir_bundle_wrong_type,
    fhir_bundle_shape, fhir_garbage, fhir_url_not_a_string, fhir_subject_without_anything,
]  # fmt: skip


def fhir_cases(seeds: Seeds, count: int, seed: int) -> Iterator[HttpCase]:
    rng = random.Random(seed)
    for number in range(count):
        mutate = FHIR_MUTATORS[number % len(FHIR_MUTATORS)]
        path, body = mutate(seeds, rng)
        method = "POST"
        yield HttpCase(mutate.__name__.removeprefix("fhir_"), number, method, path, body)


ODD_CONTENT_TYPES = [
    "application/json", "text/plain", "application/xml", "application/fhir+xml", "",
    "multipart/form-data; boundary=x", "application/fhir+json; charset=utf-16",
    "application/fhir+json; charset=latin-1", "application/fhir+json; fhirVersion=3.0",
    "application/x-www-form-urlencoded", "application/fhir+json;;;", "*/*", "application/",
]  # fmt: skip


def http_cases(seeds: Seeds, count: int, seed: int) -> Iterator[HttpCase]:
    """The FHIR cases, one in seven sent with another content type (or none): what a misconfigured
    interface engine sends."""
    rng = random.Random(seed + 1)
    for case in fhir_cases(seeds, count, seed):
        if case.number % 7 == 3:
            content_type = rng.choice(ODD_CONTENT_TYPES)
            yield HttpCase(f"{case.kind}+content_type", case.number, case.method, case.path,
                           case.body, content_type)  # fmt: skip
        else:
            yield case


# --- HL7 v2 ------------------------------------------------------------------------------------

START, END = b"\x0b", b"\x1c\r"
MAX_FRAME_BYTES = 32_000


def frame(message: bytes) -> bytes:
    """One whole frame: framing bytes inside the message are dropped (framing has its own tests)."""
    return START + message.replace(START, b"").replace(b"\x1c", b"") + END


def _fields(segment: str) -> list[str]:
    return segment.split("|")


def hl7_truncated(seeds: Seeds, rng: random.Random) -> bytes:
    message = rng.choice(seeds.hl7).encode()
    return message[: rng.randrange(0, len(message))]


def hl7_field_garbage(seeds: Seeds, rng: random.Random) -> bytes:
    segments = rng.choice(seeds.hl7).split("\r")
    position = rng.randrange(len(segments))
    fields = _fields(segments[position])
    if len(fields) > 1:
        index = rng.randrange(1, len(fields))
        fields[index] = rng.choice(
            [
                "", "^^^^^^^^", "~" * 200, "\\X00\\\\E\\\\", "\\", "&&&", "9" * 400, "-1e400",
                "99999999999999999999", "00000000", "20251399", "BRONTË^ZOË", "\u0000", "|",
                "".join(chr(rng.randrange(32, 0x2FFF)) for _ in range(rng.randrange(1, 40))),
            ]
        )  # fmt: skip
    segments[position] = "|".join(fields)
    return "\r".join(segments).encode("utf-8", errors="surrogatepass")


def hl7_bad_reference(seeds: Seeds, rng: random.Random) -> bytes:
    """Patient identifiers that do not identify anyone: bad NHS numbers, no PID, empty PID-3."""
    segments = rng.choice(seeds.hl7).split("\r")
    change = rng.randrange(4)
    if change == 0:
        segments = [s for s in segments if not s.startswith("PID")]
    else:
        for position, segment in enumerate(segments):
            if segment.startswith("PID"):
                fields = _fields(segment)
                while len(fields) < 4:
                    fields.append("")
                fields[3] = rng.choice(
                    ["", "0000000000^^^NHS^NH", "943476591^^^NHS^NH", "^^^NHS^NH",
                     "9434765918^^^NHS^NH", "ABCDEFGHIJ^^^NHS^NH", "~~~", "X" * 300 + "^^^NHS^NH"]
                )  # fmt: skip
                if change == 2:
                    fields = fields[:2]
                segments[position] = "|".join(fields)
    return "\r".join(segments).encode()


def hl7_wrong_encoding(seeds: Seeds, rng: random.Random) -> bytes:
    message = rng.choice(seeds.hl7)
    how = rng.choice(["utf-16", "utf-32", "latin-1-declared-utf8", "declared-8859", "bad-bytes",
                      "unknown-charset", "bom", "cp1252-names"])  # fmt: skip
    accented = message + "\rNTE|1||Ærwyn Brontë Zoë"
    if how in ("utf-16", "utf-32"):
        return accented.encode(how)
    if how == "latin-1-declared-utf8":
        return accented.encode("latin-1", errors="replace")
    if how == "declared-8859":
        return accented.replace("UNICODE UTF-8", "8859/1").encode("utf-8")
    if how == "unknown-charset":
        charset = rng.choice(["EBCDIC", "UTF-16", "ISO IR87", "x"])
        return accented.replace("UNICODE UTF-8", charset).encode()
    if how == "bom":
        return b"\xef\xbb\xbf" + accented.encode()
    if how == "cp1252-names":
        return accented.replace("UNICODE UTF-8", "ASCII").encode("utf-8")
    data = bytearray(accented.encode())
    for _ in range(rng.randrange(1, 5)):
        data.insert(rng.randrange(len(data)), rng.choice([0x80, 0xC3, 0xFF, 0x00, 0x1B]))
    return bytes(data)


def hl7_huge_number(seeds: Seeds, rng: random.Random) -> bytes:
    segments = rng.choice(seeds.hl7).split("\r")
    for position, segment in enumerate(segments):
        if segment.startswith(("OBX", "PRB", "PID", "MSH")):
            fields = _fields(segment)
            index = rng.randrange(1, len(fields))
            fields[index] = rng.choice(
                ["9" * 300, "1e400", "-" + "9" * 50, "99991231235959.9999+9999", "0" * 40,
                 "18446744073709551616", "2025031410300000000000"]
            )  # fmt: skip
            segments[position] = "|".join(fields)
            break
    return "\r".join(segments).encode()


def hl7_structure(seeds: Seeds, rng: random.Random) -> bytes:
    message = rng.choice(seeds.hl7)
    segments = message.split("\r")
    change = rng.randrange(9)
    if change == 0:  # segments shuffled
        rest = segments[1:]
        rng.shuffle(rest)
        segments = [segments[0], *rest]
    elif change == 1:  # a segment repeated many times
        segments = segments + [rng.choice(segments)] * rng.randrange(2, 200)
    elif change == 2:  # line feeds instead of carriage returns
        return "\n".join(segments).encode()
    elif change == 3:  # other delimiters declared
        segments[0] = segments[0].replace(
            "MSH|^~\\&|", rng.choice(["MSH#^~\\&#", "MSH|||||", "MSH|"])
        )
    elif change == 4:  # no MSH at all
        segments = segments[1:]
    elif change == 5:  # an unknown message type or version
        fields = _fields(segments[0])
        fields[rng.choice([8, 10, 11])] = rng.choice(["ZZZ^Z99", "2.9", "T", "", "ORU^R01^" * 30])
        segments[0] = "|".join(fields)
    elif change == 6:  # empty and whitespace segments
        segments = [s if rng.random() < 0.7 else rng.choice(["", " ", "\t", "Z"]) for s in segments]
    elif change == 7:  # a control id that is huge or empty
        fields = _fields(segments[0])
        fields[9] = rng.choice(["", "X" * 5000, "\\F\\"])
        segments[0] = "|".join(fields)
    else:  # MSH alone
        segments = segments[:1]
    return "\r".join(segments).encode()


def hl7_garbage(seeds: Seeds, rng: random.Random) -> bytes:
    how = rng.randrange(3)
    if how == 0:
        return rng.randbytes(rng.randrange(0, 500)).replace(b"\x0b", b"").replace(b"\x1c", b"")
    if how == 1:
        return b"MSH" + rng.randbytes(rng.randrange(0, 300)).replace(b"\x0b", b"").replace(
            b"\x1c", b""
        )
    data = bytearray(rng.choice(seeds.hl7).encode())
    for _ in range(rng.randrange(1, 30)):
        data[rng.randrange(len(data))] = rng.choice(
            [b for b in range(256) if b not in (0x0B, 0x1C)]
        )
    return bytes(data)


def hl7_oversized(seeds: Seeds, rng: random.Random) -> bytes:
    message = rng.choice(seeds.hl7)
    note = "NTE|1||" + "x" * rng.randrange(MAX_FRAME_BYTES, MAX_FRAME_BYTES * 2)
    return f"{message}\r{note}".encode()


HL7_MUTATORS: list[Callable[[Seeds, random.Random], bytes]] = [
    hl7_truncated, hl7_field_garbage, hl7_bad_reference, hl7_wrong_encoding, hl7_huge_number,
    hl7_structure, hl7_garbage, hl7_oversized,
]  # fmt: skip


def hl7_cases(seeds: Seeds, count: int, seed: int) -> Iterator[Hl7Case]:
    """Whole frames only: every case must get exactly one ACK on the shared connection."""
    rng = random.Random(seed)
    for number in range(count):
        mutate = HL7_MUTATORS[number % len(HL7_MUTATORS)]
        message = mutate(seeds, rng)
        yield Hl7Case(mutate.__name__.removeprefix("hl7_"), number, frame(message))
