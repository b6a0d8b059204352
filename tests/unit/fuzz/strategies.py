"""Hypothesis strategies for the whole path: FHIR R4 resources and Bundles, HL7 v2 messages and
cancer flags, built the way a sender may legally build them but with extreme values.

The FHIR primitives follow the R4 datatype rules (https://hl7.org/fhir/R4/datatypes.html): an `id`
is 1-64 of `[A-Za-z0-9.-]` (so a versionId of 64 digits is valid), a `string` is any Unicode text
whose only characters below U+0020 are TAB, CR and LF, a `code` has no leading, trailing or double
white space, a `dateTime` may stop at the year or the month and carries a zone from -12:00 to
+14:00 when it has a time. Some cases are deliberately just outside the rules (empty arrays, huge
integers, control characters): ingest must refuse those with a 4xx or an AE/AR, never fail on them.

HL7 v2 messages follow the rmbc profile's ORU^R01, PPR^PC1 and ADT shapes (tests/unit/ingest/
hl7_samples.py), with the v2.5.1 TS/DTM forms of dates (YYYY[MM[DD[HH[MM[SS]]]]][+/-ZZZZ]).
"""

from datetime import date
from typing import Any

from hypothesis import strategies as st

NHS_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
ODS_SYSTEM = "https://fhir.nhs.uk/Id/ods-organization-code"
SNOMED = "http://snomed.info/sct"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
LOINC = "http://loinc.org"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
NHS_NUMBERS = ["9434765919", "9449306753", "9990000018"]  # modulus-11 valid, test ranges
PATIENT_REFERENCE = "Patient/p1"

# --- text from every plane -------------------------------------------------------------------

LINE_AND_FORMAT = "\u2028\u2029\u0085\u200b\u200e\u202e\ufeff\u00a0"
ASTRAL = "\U0001f600\U00010348\U0002a6d6\U000e0041\U000f0000\U0010fffd"

# Any Unicode scalar value but surrogates (they cannot be written as UTF-8), C0 controls other
# than TAB/LF/CR and the C1 controls: FHIR's `string`. A few hand-picked awkward ones are mixed in
# so that short runs meet them often.
fhir_char = st.characters(
    blacklist_categories=["Cs"],
    blacklist_characters=[chr(c) for c in range(32) if chr(c) not in "\t\n\r"],
) | st.sampled_from(list(LINE_AND_FORMAT + ASTRAL + "<>&\"'\\|^~&\t"))


def fhir_strings(max_size: int = 40) -> st.SearchStrategy[str]:
    """A valid FHIR string (some non-white content), occasionally a very long one."""
    plain = st.text(fhir_char, min_size=1, max_size=max_size).filter(lambda s: s.strip())
    long = st.tuples(st.sampled_from("xé\u2028\U0001f600"), st.integers(1_000, 60_000)).map(
        lambda pair: pair[0] * pair[1]
    )
    return st.one_of(plain, plain, plain, long)


fhir_ids = st.from_regex(r"\A[A-Za-z0-9.\-]{1,64}\Z")
version_ids = st.one_of(
    st.integers(1, 10**6).map(str),
    st.integers(2**63 - 2, 2**64 + 2).map(str),
    st.integers(1, 64).map(lambda n: "9" * n),
    fhir_ids,
)

# --- dates -------------------------------------------------------------------------------------

EXTREME_INSTANTS = [
    "0001-01-01T00:00:00+14:00",
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:00:00-12:00",
    "9999-12-31T23:59:59-12:00",
    "9999-12-31T23:59:59+14:00",
    "9999-12-31T23:59:59.999999999Z",
    "2024-02-29T12:00:00.5+05:45",
    "1970-01-01T00:00:00Z",
]
EXTREME_DATES = ["0001", "9999", "0001-01", "9999-12", "0001-01-01", "9999-12-31", "2024-02-29"]
zones = st.sampled_from(["Z", "+14:00", "-12:00", "+00:00", "-00:00", "+05:30", "+13:45"])


@st.composite
def fhir_instants(draw: st.DrawFn) -> str:
    """A FHIR `instant`: seconds and zone always present."""
    if draw(st.booleans()):
        return draw(st.sampled_from(EXTREME_INSTANTS))
    day = draw(st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)))
    clock = f"{draw(st.integers(0, 23)):02d}:{draw(st.integers(0, 59)):02d}:"
    clock += f"{draw(st.integers(0, 59)):02d}"
    fraction = draw(st.sampled_from(["", ".0", ".123", ".999999"]))
    return f"{day.isoformat()}T{clock}{fraction}{draw(zones)}"


@st.composite
def fhir_date_times(draw: st.DrawFn) -> str:
    """A FHIR `dateTime`: year, year-month, date, or an instant."""
    shape = draw(st.sampled_from(["year", "month", "date", "instant", "extreme"]))
    day = draw(st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)))
    if shape == "year":
        return f"{day.year:04d}"
    if shape == "month":
        return f"{day.year:04d}-{day.month:02d}"
    if shape == "date":
        return day.isoformat()
    if shape == "extreme":
        return draw(st.sampled_from(EXTREME_DATES))
    return draw(fhir_instants())


# --- numbers -----------------------------------------------------------------------------------


class RawNumber(str):
    """A JSON number written out as it is (beyond what a float or a 64-bit integer holds)."""


huge_numbers = st.one_of(
    st.integers(-(2**200), 2**200),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["9" * 400, "-" + "9" * 400, "1e308", "1E-400", "0.000000000000000000001"]).map(
        RawNumber
    ),
    st.integers(1, 5_000).map(lambda n: RawNumber("1" + "0" * n)),
)


def to_json(value: Any) -> str:
    """JSON text that keeps integers of any size and raw numbers as written."""
    if isinstance(value, RawNumber):
        return str(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{_quoted(k)}:{to_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(to_json(v) for v in value) + "]"
    if isinstance(value, str):
        return _quoted(value)
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _quoted(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    for c in range(32):
        escaped = escaped.replace(chr(c), f"\\u{c:04x}")
    return f'"{escaped}"'


# --- codes -------------------------------------------------------------------------------------

KNOWN_SNOMED = ["254837009", "94222008", "94381002", "94391008", "94225005", "128462008"]
KNOWN_ICD10 = ["C50.9", "C50.4", "C79.5", "C78.7", "C77.3", "C79.3", "C79.51", "C80"]


@st.composite
def condition_codes(draw: st.DrawFn) -> dict[str, Any]:
    """A Condition.code: known breast-cancer codes, each perhaps with a very long tail (it must
    never be copied into a flag whole), or unknown codes, in 1-3 codings."""
    codings = []
    for _ in range(draw(st.integers(1, 3))):
        system = draw(st.sampled_from([SNOMED, ICD10, "urn:oid:2.16.840.1.113883.6.3", "x:y"]))
        code = draw(st.sampled_from(KNOWN_ICD10 if system != SNOMED else KNOWN_SNOMED))
        tail = draw(st.sampled_from(["", "", "", "1", "9" * 64, "9" * 300_000, "X" * 70_000]))
        codings.append({"system": system, "code": code + tail})
    concept: dict[str, Any] = {"coding": codings}
    if draw(st.booleans()):
        concept["text"] = draw(fhir_strings())
    return concept


def coded(system: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}]}


# --- extensions --------------------------------------------------------------------------------


@st.composite
def extensions(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Nested extensions, up to 30 levels (within ingest's JSON depth limit)."""
    leaf_value = draw(
        st.one_of(
            fhir_strings().map(lambda s: {"valueString": s}),
            huge_numbers.map(lambda n: {"valueDecimal": n}),
            st.integers(-(2**31), 2**31 - 1).map(lambda n: {"valueInteger": n}),
            fhir_date_times().map(lambda d: {"valueDateTime": d}),
        )
    )
    extension: dict[str, Any] = {"url": "https://example.org/fhir/leaf", **leaf_value}
    for _ in range(draw(st.integers(0, 14))):
        extension = {"url": "https://example.org/fhir/branch", "extension": [extension]}
    return [extension]


# --- resources ---------------------------------------------------------------------------------


@st.composite
def metas(draw: st.DrawFn) -> dict[str, Any]:
    meta: dict[str, Any] = {"versionId": draw(version_ids)}
    if draw(st.integers(0, 3)):
        meta["lastUpdated"] = draw(fhir_instants())
    return meta


def _maybe(draw: st.DrawFn, resource: dict[str, Any], name: str, strategy: Any) -> None:
    if draw(st.booleans()):
        resource[name] = draw(strategy)


def subject() -> dict[str, Any]:
    return {
        "reference": PATIENT_REFERENCE,
        "identifier": {"system": NHS_SYSTEM, "value": NHS_NUMBERS[0]},
    }


@st.composite
def conditions(draw: st.DrawFn) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Condition",
        "id": draw(fhir_ids),
        "meta": draw(metas()),
        "clinicalStatus": coded(
            CLINICAL, draw(st.sampled_from(["active", "recurrence", "relapse", "remission"]))
        ),
        "verificationStatus": coded(
            VERIFICATION,
            draw(st.sampled_from(["confirmed", "provisional", "refuted", "entered-in-error"])),
        ),
        "code": draw(condition_codes()),
        "subject": subject(),
    }
    _maybe(draw, resource, "onsetDateTime", fhir_date_times())
    _maybe(draw, resource, "recordedDate", fhir_date_times())
    _maybe(draw, resource, "abatementDateTime", fhir_date_times())
    _maybe(draw, resource, "bodySite", st.sampled_from(["272673000", "10200004", "80248007"]))
    if isinstance(resource.get("bodySite"), str):
        resource["bodySite"] = [coded(SNOMED, resource["bodySite"])]
    _maybe(draw, resource, "note", st.lists(fhir_strings(), min_size=1, max_size=3))
    if "note" in resource:
        resource["note"] = [{"text": text} for text in resource["note"]]
    _maybe(draw, resource, "extension", extensions())
    _maybe(draw, resource, "stage", st.just([]))  # an empty array: not valid FHIR, refused
    return resource


@st.composite
def observations(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["m_category", "disease_status", "finding", "quantity", "integer"]))
    code = {
        "m_category": coded(SNOMED, "399387003"),
        "disease_status": coded(LOINC, "97509-4"),
        "finding": coded(SNOMED, "94222008"),
        "quantity": coded(LOINC, "2857-1"),
        "integer": coded(LOINC, "21907-1"),
    }[kind]
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": draw(fhir_ids),
        "meta": draw(metas()),
        "status": draw(st.sampled_from(["final", "amended", "preliminary", "cancelled"])),
        "code": code,
        "subject": {"reference": PATIENT_REFERENCE},
    }
    if kind == "m_category":
        resource["valueCodeableConcept"] = coded(SNOMED, draw(st.sampled_from(["1229903009"])))
    elif kind == "disease_status":
        resource["valueCodeableConcept"] = coded(SNOMED, "271299001")
    elif kind == "quantity":
        resource["valueQuantity"] = {"value": draw(huge_numbers), "unit": draw(fhir_strings())}
    elif kind == "integer":  # FHIR's integer is 32-bit: beyond it, a refusal
        resource["valueInteger"] = draw(st.integers(-(2**70), 2**70))
    else:
        resource["valueString"] = draw(fhir_strings())
    _maybe(draw, resource, "effectiveDateTime", fhir_date_times())
    _maybe(draw, resource, "issued", fhir_instants())
    _maybe(draw, resource, "extension", extensions())
    return resource


@st.composite
def patients(draw: st.DrawFn) -> dict[str, Any]:
    given = draw(st.lists(fhir_strings(), min_size=0, max_size=3))
    name: dict[str, Any] = {"family": draw(fhir_strings())}
    if given:
        name["given"] = given
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": "p1",
        "meta": draw(metas()),
        "identifier": [{"system": NHS_SYSTEM, "value": NHS_NUMBERS[0]}],
        "name": [name],
        "generalPractitioner": [{"identifier": {"system": ODS_SYSTEM, "value": "A81001"}}],
        "managingOrganization": {"identifier": {"system": ODS_SYSTEM, "value": "RX1"}},
    }
    _maybe(draw, resource, "birthDate", st.sampled_from(EXTREME_DATES) | st.dates().map(str))
    _maybe(draw, resource, "extension", extensions())
    _maybe(draw, resource, "telecom", st.just([]))  # an empty array: refused
    return resource


@st.composite
def bundles(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["transaction", "batch"]))
    others = draw(st.lists(conditions() | observations(), min_size=0, max_size=4))
    resources = [draw(patients()), *others]
    entries = []
    for position, resource in enumerate(resources):
        entry: dict[str, Any] = {
            "fullUrl": f"urn:uuid:00000000-0000-4000-8000-{position:012d}",
            "resource": resource,
            "request": {"method": "POST", "url": resource["resourceType"]},
        }
        entries.append(entry)
    return {"resourceType": "Bundle", "type": kind, "entry": entries}


def fhir_requests() -> st.SearchStrategy[tuple[str, dict[str, Any]]]:
    """(path, document) of a request a FHIR sender could make."""
    return st.one_of(
        conditions().map(lambda r: ("/fhir/Condition", r)),
        observations().map(lambda r: ("/fhir/Observation", r)),
        patients().map(lambda r: ("/fhir/Patient", r)),
        bundles().map(lambda b: ("/fhir", b)),
    )


# --- HL7 v2 ------------------------------------------------------------------------------------

HL7_EXTREME_TIMES = [
    "00010101000000+1400",
    "99991231235959-1200",
    "0001",
    "9999",
    "000101",
    "999912",
    "20250314",
    "202503141030",
    "20250314103000.1234+0000",
]
# HL7 text: any scalar value but surrogates and the delimiters and framing bytes, which a sender
# escapes (\F\, \S\, \R\, \E\, \T\) or must not send at all.
hl7_char = st.characters(
    blacklist_categories=["Cs"],
    blacklist_characters=["|", "^", "~", "\\", "&", "\r", "\n", "\x0b", "\x1c"],
)
hl7_piece = hl7_char | st.sampled_from(
    ["\\F\\", "\\S\\", "\\T\\", "\\R\\", "\\E\\", "\\X0D\\", "\u2028", "é"]
)


@st.composite
def hl7_texts(draw: st.DrawFn, max_size: int = 30) -> str:
    """Mostly short text of any characters, one time in ten far over any field's length."""
    if draw(st.integers(0, 9)) == 0:
        return "X" * draw(st.integers(1_000, 20_000))
    return "".join(draw(st.lists(hl7_piece, min_size=1, max_size=max_size)))


plain_times = st.dates(min_value=date(1900, 1, 1), max_value=date(2030, 12, 31)).map(
    lambda d: f"{d.year:04d}{d.month:02d}{d.day:02d}"
)
OBSERVATION_PAIRS = [  # (OBX-3, OBX-5) the classifier reads: M category and disease status
    ("21907-1^M category^LN", "1229903009^M1^SCT"),
    ("21907-1^M category^LN", "1229901006^M0^SCT"),
    ("97509-4^Cancer disease status^LN", "271299001^Worsened^SCT"),
    ("97509-4^Cancer disease status^LN", "281900007^No evidence of disease^SCT"),
]
hl7_times = st.one_of(
    plain_times,
    plain_times,
    st.sampled_from(HL7_EXTREME_TIMES),
    st.dates(min_value=date(1, 1, 1)).map(lambda d: f"{d.year:04d}{d.month:02d}{d.day:02d}"),
)


@st.composite
def hl7_messages(draw: st.DrawFn) -> str:
    """An ORU^R01, PPR^PC1 or ADT message in the rmbc profile with extreme field values."""
    adt = st.sampled_from(
        ["ADT^A08^ADT_A01", "ADT^A01^ADT_A01", "ADT^A04^ADT_A01", "ADT^A28^ADT_A05",
         "ADT^A31^ADT_A05"]
    )  # fmt: skip
    kind = draw(st.sampled_from(["ORU^R01^ORU_R01", "PPR^PC1^PPR_PC1"]) | adt)
    plain_id = st.from_regex(r"\A[A-Za-z0-9]{1,20}\Z")
    control_id = draw(plain_id) if draw(st.integers(0, 3)) else draw(hl7_texts(10))
    facility = draw(st.sampled_from(["RX1", "R\u00c9X"]))
    msh = (
        f"MSH|^~\\&|EPR|{facility}|RMBC|RMBC|"
        f"{draw(hl7_times)}||{kind}|{control_id}|P|2.5.1|||AL|NE||UNICODE UTF-8"
    )
    name = f"{draw(hl7_texts())}^{draw(hl7_texts())}"
    pid = f"PID|1||{draw(st.sampled_from(NHS_NUMBERS))}^^^NHS^NH~L1^^^RX1^MR||{name}||"
    pid += f"{draw(hl7_times)}|F"
    segments = [msh, pid]
    if kind.startswith("ORU"):
        segments.append(f"OBR|1||R1|24627-2^Chest CT^LN|||{draw(hl7_times)}")
        for number in range(1, draw(st.integers(1, 4)) + 1):
            code, value = draw(st.sampled_from(OBSERVATION_PAIRS))
            if draw(st.integers(0, 3)) == 0:
                value = draw(hl7_texts().map(lambda t: f"{t}^{t}^SCT"))
            status = draw(st.sampled_from(["F", "C", "P", "W", "X"]))
            segments.append(f"OBX|{number}|CWE|{code}||{value}||||||{status}|||{draw(hl7_times)}")
    elif kind.startswith("PPR"):
        for number in range(1, draw(st.integers(1, 3)) + 1):
            code = (
                draw(st.sampled_from(KNOWN_ICD10))
                + ["9" * 20_000, "9" * 64, "", "", ""][draw(st.integers(0, 4))]
            )
            segments.append(
                f"PRB|AD|{draw(hl7_times)}|{code}^{draw(hl7_texts())}^I10|P{number}|||||||||"
                f"{draw(st.sampled_from(['confirmed', 'provisional']))}|active||{draw(hl7_times)}"
            )
    else:
        segments.append(f"PD1|||{draw(hl7_texts())}^^Y01234")
    if draw(st.booleans()):
        segments.append(f"NTE|1||{draw(hl7_texts())}")
    return "\r".join(segments)
