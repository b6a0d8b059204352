"""Writes the blind clinical scenario set: FHIR files under scenarios/ and the expected outcomes.

Each scenario is one patient as a particular sender would write it (UK Core or mCODE shapes,
Bundles of every type, bare resources, NDJSON). The expected outcome of each is written by hand
from the classification rules, next to the data, with the rule that decides it.

Run `python -m tests.clinical.build_scenarios` to rewrite the files; the result is committed.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent

SCT = "http://snomed.info/sct"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
ICD10_CM = "http://hl7.org/fhir/sid/icd-10-cm"
LOINC = "http://loinc.org"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
NHS = "https://fhir.nhs.uk/Id/nhs-number"
ODS = "https://fhir.nhs.uk/Id/ods-organization-code"
RELATED = "http://hl7.org/fhir/StructureDefinition/condition-related"
UKCORE = "https://fhir.hl7.org.uk/StructureDefinition/UKCore-"
MCODE = "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-"

Resource = dict[str, Any]
Expected = dict[str, Any]


def nhs_numbers() -> list[str]:
    """Valid NHS numbers (modulus 11) from the 999 test range, one per scenario."""
    numbers = []
    seed = 999_000_100
    while len(numbers) < 200:
        digits = str(seed)
        total = sum(int(d) * w for d, w in zip(digits, range(10, 1, -1), strict=True))
        check = 11 - total % 11
        check = 0 if check == 11 else check
        if check != 10:
            numbers.append(digits + str(check))
        seed += 7
    return numbers


NUMBERS = nhs_numbers()


# --- building blocks ---------------------------------------------------------------------------


def coding(system: str, code: str, display: str | None = None) -> dict[str, str]:
    found = {"system": system, "code": code}
    if display:
        found["display"] = display
    return found


def concept(*codings: dict[str, str], text: str | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {}
    if codings:
        found["coding"] = list(codings)
    if text:
        found["text"] = text
    return found


def snomed(code: str, display: str | None = None) -> dict[str, Any]:
    return concept(coding(SCT, code, display))


def icd(code: str, display: str | None = None, system: str = ICD10) -> dict[str, Any]:
    return concept(coding(system, code, display))


def ref(kind: str, ident: str) -> dict[str, str]:
    return {"reference": f"{kind}/{ident}"}


def by_identifier(nhs: str) -> dict[str, Any]:
    return {"identifier": {"system": NHS, "value": nhs}}


def patient(
    ident: str | None,
    nhs: str | None,
    family: str = "Testpatient",
    *,
    meta: bool = True,
    gp: str = "A81001",
    mrn: str | None = None,
) -> Resource:
    identifiers: list[dict[str, Any]] = []
    if nhs:
        identifiers.append(
            {
                "system": NHS,
                "value": nhs,
                "extension": [
                    {
                        "url": "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus",
                        "valueCodeableConcept": concept(
                            coding(
                                "https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland",
                                "01",
                                "Number present and verified",
                            )
                        ),
                    }
                ],
            }
        )
    if mrn:
        identifiers.append({"system": "https://trust.example.nhs.uk/Id/mrn", "value": mrn})
    found: Resource = {"resourceType": "Patient"}
    if ident:
        found["id"] = ident
    if meta:
        found["meta"] = {"profile": [UKCORE + "Patient"]}
    if identifiers:
        found["identifier"] = identifiers
    found["name"] = [{"use": "official", "family": family, "given": ["Alex"]}]
    found["gender"] = "female"
    found["birthDate"] = "1961-04-12"
    found["generalPractitioner"] = [
        {"type": "Organization", "identifier": {"system": ODS, "value": gp}}
    ]
    return found


def condition(
    ident: str | None,
    subject: dict[str, Any],
    code: dict[str, Any],
    *,
    onset: str | None = None,
    onset_period: str | None = None,
    onset_string: str | None = None,
    recorded: str | None = None,
    clinical: str | None = "active",
    clinical_text: str | None = None,
    verification: str | None = "confirmed",
    body_site: dict[str, Any] | None = None,
    version: str | None = None,
    updated: str | None = None,
    abatement: str | None = None,
    related: dict[str, str] | None = None,
    profile: str | None = UKCORE + "Condition",
    category: str = "problem-list-item",
) -> Resource:
    found: Resource = {"resourceType": "Condition"}
    if ident:
        found["id"] = ident
    meta: dict[str, Any] = {}
    if version:
        meta["versionId"] = version
    if updated:
        meta["lastUpdated"] = updated
    if profile:
        meta["profile"] = [profile]
    if meta:
        found["meta"] = meta
    if related:
        found["extension"] = [{"url": RELATED, "valueReference": related}]
    if clinical or clinical_text:
        status = concept(coding(CLINICAL, clinical)) if clinical else {}
        if clinical_text:
            status["text"] = clinical_text
        found["clinicalStatus"] = status
    if verification:
        found["verificationStatus"] = concept(coding(VERIFICATION, verification))
    found["category"] = [concept(coding(CATEGORY, category))]
    found["code"] = code
    if body_site:
        found["bodySite"] = [body_site]
    found["subject"] = subject
    if onset:
        found["onsetDateTime"] = onset
    if onset_period:
        found["onsetPeriod"] = {"start": onset_period}
    if onset_string:
        found["onsetString"] = onset_string
    if abatement:
        found["abatementDateTime"] = abatement
    if recorded:
        found["recordedDate"] = recorded
    return found


def observation(
    ident: str,
    subject: dict[str, Any],
    code: dict[str, Any],
    value: dict[str, Any],
    effective: str,
    *,
    status: str = "final",
    focus: dict[str, str] | None = None,
    profile: str | None = None,
    version: str | None = None,
    updated: str | None = None,
    period: bool = False,
) -> Resource:
    found: Resource = {"resourceType": "Observation", "id": ident}
    meta: dict[str, Any] = {}
    if version:
        meta["versionId"] = version
    if updated:
        meta["lastUpdated"] = updated
    if profile:
        meta["profile"] = [profile]
    if meta:
        found["meta"] = meta
    found["status"] = status
    found["code"] = code
    found["subject"] = subject
    if focus:
        found["focus"] = [focus]
    if period:
        found["effectivePeriod"] = {"start": effective}
    else:
        found["effectiveDateTime"] = effective
    found["valueCodeableConcept"] = value
    return found


def bundle(kind: str, resources: list[Resource], *, urns: dict[int, str] | None = None) -> Resource:
    """A Bundle; `urns` gives an urn:uuid fullUrl to the entry at that index."""
    entries = []
    for index, resource in enumerate(resources):
        entry: dict[str, Any] = {}
        if urns and index in urns:
            entry["fullUrl"] = f"urn:uuid:{urns[index]}"
        elif "id" in resource:
            entry["fullUrl"] = (
                f"https://fhir.trust.example.nhs.uk/R4/{resource['resourceType']}/{resource['id']}"
            )
        entry["resource"] = resource
        if kind in ("transaction", "batch"):
            if "id" in resource and not (urns and index in urns):
                entry["request"] = {
                    "method": "PUT",
                    "url": f"{resource['resourceType']}/{resource['id']}",
                }
            else:
                entry["request"] = {"method": "POST", "url": resource["resourceType"]}
        if kind == "searchset":
            entry["search"] = {
                "mode": "match" if resource["resourceType"] != "Patient" else "include"
            }
        entries.append(entry)
    found: Resource = {"resourceType": "Bundle", "type": kind}
    if kind == "searchset":
        found["total"] = sum(1 for r in resources if r["resourceType"] != "Patient")
    if kind in ("collection", "searchset"):
        found["timestamp"] = "2024-01-15T10:00:00Z"
    found["entry"] = entries
    return found


# --- primary, secondary and observation shorthands ---------------------------------------------

BREAST_SCT = ("254837009", "Malignant neoplasm of breast")
BREAST_PRIMARY_SCT = ("372137005", "Primary malignant neoplasm of breast")
LEFT = snomed("80248007", "Left breast structure")
RIGHT = snomed("73056007", "Right breast structure")
AXILLA = snomed("68171009", "Axillary lymph node structure")
MARROW = snomed("14016003", "Bone marrow structure")

M_CLINICAL_SCT = snomed("399387003", "cM category")
M_PATH_SCT = snomed("371497001", "pM category")
M_CLINICAL_LOINC = concept(coding(LOINC, "21907-1", "Distant metastases.clinical [Class] Cancer"))
M_PATH_LOINC = concept(coding(LOINC, "21901-4", "Distant metastases.pathology [Class] Cancer"))
CM0 = snomed("1229901006", "American Joint Committee on Cancer cM0")
CM1 = snomed("1229903009", "American Joint Committee on Cancer cM1")
PM1 = snomed("1229916009", "American Joint Committee on Cancer pM1")
DISEASE_STATUS = concept(coding(LOINC, "97509-4", "Cancer disease status"))


def disease_status(
    ident: str, subject: dict[str, Any], code: str, effective: str, **kw: Any
) -> Resource:
    return observation(
        ident, subject, DISEASE_STATUS, snomed(code), effective,
        profile=MCODE + "cancer-disease-status", **kw,
    )  # fmt: skip


# --- the scenario registry ---------------------------------------------------------------------

Files = dict[str, Any]  # file name -> resource (json) or list of resources (ndjson)
SCENARIO_BUILDERS: list[Callable[[], tuple[Files, Expected]]] = []


def scenario(fn: Callable[[], tuple[Files, Expected]]) -> Callable[[], tuple[Files, Expected]]:
    SCENARIO_BUILDERS.append(fn)
    return fn


def outcome(
    patient_key: str,
    note: str,
    *,
    breast_primary: bool = True,
    recurrence: bool = False,
    types: list[str] | None = None,
    metastatic: bool = False,
    de_novo: bool = False,
    sites: list[str] | None = None,
    episode: str | None = None,
    ambiguous: bool = False,
    ambiguous_fields: list[str] | None = None,
    episodes: int | None = None,
) -> Expected:
    found: Expected = {
        "patient": patient_key,
        "breast_primary": breast_primary,
        "recurrence": recurrence,
        "recurrence_types": sorted(types or []),
        "metastatic": metastatic,
        "de_novo_metastatic": de_novo,
        "metastatic_sites": sorted(sites or []),
        "episode_date": episode,
        "note": note,
    }
    if ambiguous:
        found["ambiguous"] = True
    if ambiguous_fields:
        found["ambiguous_fields"] = ambiguous_fields
    if episodes is not None:
        found["episodes"] = episodes
    return found


def primary_with_remission(
    n: int,
    subject: dict[str, Any],
    onset: str,
    remission_on: str,
    *,
    code: dict[str, Any] | None = None,
    side: dict[str, Any] | None = LEFT,
    status: str = "remission",
) -> list[Resource]:
    """Version 1 active at diagnosis, version 2 in remission: a documented disease-free period."""
    code = code or icd("C50.4", "Malignant neoplasm of upper-outer quadrant of breast")
    return [
        condition(
            f"p{n}-primary", subject, code, onset=onset, recorded=onset, body_site=side,
            version="1", updated=f"{onset}T09:00:00Z",
        ),
        condition(
            f"p{n}-primary", subject, code, onset=onset, recorded=onset, body_site=side,
            clinical=status, version="2", updated=f"{remission_on}T09:00:00Z",
        ),
    ]  # fmt: skip


# --- 1. current state, primaries and hard negatives --------------------------------------------


@scenario
def p01_primary_only_uk_core_dotted_icd10() -> tuple[Files, Expected]:
    n, nhs = 1, NUMBERS[1]
    subj = ref("Patient", "p1")
    resources = [
        patient("p1", nhs),
        condition("p1-primary", subj, icd("C50.4"), onset="2022-05-17", body_site=LEFT),
    ]
    return {f"p{n:03}-uk-core-collection.json": bundle("collection", resources)}, outcome(
        nhs, "Breast primary only (rule 3): nothing else."
    )


@scenario
def p02_transaction_urn_bone_after_remission() -> tuple[Files, Expected]:
    n, nhs = 2, NUMBERS[2]
    pid, prim, sec = (
        "6c7b1e7e-0002-4a4a-9e5b-000000000001",
        "6c7b1e7e-0002-4a4a-9e5b-000000000002",
        "6c7b1e7e-0002-4a4a-9e5b-000000000003",
    )
    subj = {"reference": f"urn:uuid:{pid}"}
    resources = [
        patient(None, nhs),
        condition(
            None, subj, snomed(*BREAST_SCT), onset="2018-02-10", clinical="resolved",
            abatement="2018-11-30", body_site=RIGHT,
        ),
        condition(
            None, subj, snomed("94222008", "Secondary malignant neoplasm of bone"),
            onset="2022-05-03", related={"reference": f"urn:uuid:{prim}"},
        ),
    ]  # fmt: skip
    return {
        f"p{n:03}-transaction-urn.json": bundle(
            "transaction", resources, urns={0: pid, 1: prim, 2: sec}
        )
    }, outcome(
        nhs,
        "Resolved primary with abatement (rule 7), bone secondary years later (rule 8): distant recurrence.",
        recurrence=True, types=["distant"], metastatic=True, sites=["bone"], episode="2022-05-03",
    )  # fmt: skip


@scenario
def p03_de_novo_liver_icd10() -> tuple[Files, Expected]:
    n, nhs = 3, NUMBERS[3]
    subj = ref("Patient", "p3")
    resources = [
        patient("p3", nhs),
        condition("p3-primary", subj, icd("C50.9"), onset="2021-03-01"),
        condition(
            "p3-liver", subj, icd("C78.7"), onset="2021-03-20", category="encounter-diagnosis"
        ),
    ]
    return {f"p{n:03}-de-novo.json": bundle("collection", resources)}, outcome(
        nhs, "Liver secondary 19 days after diagnosis (rule 6): de novo metastatic.",
        metastatic=True, de_novo=True, sites=["liver"], episode="2021-03-20",
    )  # fmt: skip


@scenario
def p04_de_novo_exactly_90_days_after() -> tuple[Files, Expected]:
    n, nhs = 4, NUMBERS[4]
    subj = ref("Patient", "p4")
    resources = [
        patient("p4", nhs),
        condition("p4-primary", subj, icd("C50.2"), onset="2020-01-01"),
        condition("p4-bone", subj, icd("C79.5"), onset="2020-03-31"),
    ]
    return {f"p{n:03}-ninety-days-after.json": bundle("collection", resources)}, outcome(
        nhs, "Bone secondary exactly 90 days after diagnosis: 'within 90 days ... on either side' (rule 6).",
        metastatic=True, de_novo=True, sites=["bone"], episode="2020-03-31",
    )  # fmt: skip


@scenario
def p05_progression_91_days_after() -> tuple[Files, Expected]:
    n, nhs = 5, NUMBERS[5]
    subj = ref("Patient", "p5")
    resources = [
        patient("p5", nhs),
        condition("p5-primary", subj, icd("C50.2"), onset="2020-01-01"),
        condition("p5-lung", subj, snomed("94391008"), onset="2020-04-01"),
    ]
    return {f"p{n:03}-ninety-one-days-after.json": bundle("collection", resources)}, outcome(
        nhs,
        "Lung secondary 91 days after diagnosis, never disease-free: progression (rule 8) - metastatic, not de novo, not recurrence.",
        metastatic=True, sites=["lung"], episode="2020-04-01",
    )  # fmt: skip


@scenario
def p06_distant_91_days_before_diagnosis() -> tuple[Files, Expected]:
    n, nhs = 6, NUMBERS[6]
    subj = ref("Patient", "p6")
    resources = [
        patient("p6", nhs),
        condition("p6-brain", subj, icd("C79.3"), onset="2021-03-02"),
        condition("p6-primary", subj, icd("C50.5"), onset="2021-06-01"),
    ]
    return {f"p{n:03}-ninety-one-days-before.json": bundle("collection", resources)}, outcome(
        nhs,
        "Brain secondary 91 days BEFORE the primary's date. Outside rule 6's window so not de novo by the letter; "
        "rule 8 speaks only of 'more than 90 days after'. Reading: metastatic (rule 10), not de novo, not recurrence.",
        metastatic=True, sites=["brain"], episode="2021-03-02", ambiguous=True,
    )  # fmt: skip


@scenario
def p07_de_novo_90_days_before_diagnosis() -> tuple[Files, Expected]:
    n, nhs = 7, NUMBERS[7]
    subj = ref("Patient", "p7")
    resources = [
        patient("p7", nhs),
        condition("p7-brain", subj, icd("C79.3"), onset="2021-03-03"),
        condition("p7-primary", subj, icd("C50.5"), onset="2021-06-01"),
    ]
    return {f"p{n:03}-ninety-days-before.json": bundle("collection", resources)}, outcome(
        nhs, "Brain secondary 90 days before diagnosis: 'on either side of it' (rule 6): de novo.",
        metastatic=True, de_novo=True, sites=["brain"], episode="2021-03-03",
    )  # fmt: skip


@scenario
def p08_contralateral_new_primary() -> tuple[Files, Expected]:
    n, nhs = 8, NUMBERS[8]
    subj = ref("Patient", "p8")
    resources = [
        patient("p8", nhs),
        *primary_with_remission(n, subj, "2015-05-01", "2016-06-01", side=LEFT),
        condition("p8-right", subj, icd("C50.9"), onset="2020-02-01", body_site=RIGHT),
    ]
    return {f"p{n:03}-contralateral.json": bundle("collection", resources)}, outcome(
        nhs, "New primary in the other breast after remission: 'A new primary on the opposite side is not a recurrence' (rule 8).",
    )  # fmt: skip


@scenario
def p09_ipsilateral_local_recurrence() -> tuple[Files, Expected]:
    n, nhs = 9, NUMBERS[9]
    subj = ref("Patient", "p9")
    resources = [
        patient("p9", nhs),
        *primary_with_remission(n, subj, "2014-03-10", "2015-01-20", side=LEFT),
        condition(
            "p9-local", subj, icd("C50.8"), onset="2019-07-15", body_site=LEFT,
            clinical="recurrence",
        ),
    ]  # fmt: skip
    return {f"p{n:03}-local.json": bundle("collection", resources)}, outcome(
        nhs, "Same-side breast cancer with recurrence status years after remission: local (rules 8, 9); a local recurrence adds no site (rule 5).",
        recurrence=True, types=["local"], episode="2019-07-15",
    )  # fmt: skip


@scenario
def p10_dcis_only() -> tuple[Files, Expected]:
    n, nhs = 10, NUMBERS[10]
    subj = ref("Patient", "p10")
    resources = [
        patient("p10", nhs),
        condition(
            "p10-dcis", subj,
            concept(coding(SCT, "109889007", "Intraductal carcinoma in situ of breast"), coding(ICD10, "D05.1")),
            onset="2020-09-09", body_site=RIGHT,
        ),
    ]  # fmt: skip
    return {f"p{n:03}-dcis.json": bundle("collection", resources)}, outcome(
        nhs, "DCIS only: 'D05 (DCIS) ... do not count' (rule 3).", breast_primary=False
    )


@scenario
def p11_dcis_after_invasive_same_side() -> tuple[Files, Expected]:
    n, nhs = 11, NUMBERS[11]
    subj = ref("Patient", "p11")
    resources = [
        patient("p11", nhs),
        *primary_with_remission(n, subj, "2016-02-02", "2016-12-01", side=LEFT),
        condition("p11-dcis", subj, icd("D05.1"), onset="2020-10-10", body_site=LEFT),
    ]
    return {f"p{n:03}-dcis-after-invasive.ndjson": resources}, outcome(
        nhs, "DCIS in the same breast after remission: 'D05.x carcinoma in situ ... not a recurrence by itself' (codes).",
    )  # fmt: skip


@scenario
def p12_brain_mets_of_lung_primary_in_breast_survivor() -> tuple[Files, Expected]:
    n, nhs = 12, NUMBERS[12]
    subj = ref("Patient", "p12")
    resources = [
        patient("p12", nhs),
        *primary_with_remission(n, subj, "2012-01-15", "2013-02-01"),
        condition("p12-lung-primary", subj, snomed("93880001", "Primary malignant neoplasm of lung"), onset="2020-08-01"),
        condition(
            "p12-brain", subj, snomed("94225005", "Metastatic malignant neoplasm to brain"),
            onset="2020-09-15", related=ref("Condition", "p12-lung-primary"),
            profile=MCODE + "secondary-cancer-condition",
        ),
    ]  # fmt: skip
    return {f"p{n:03}-lung-primary-related.json": bundle("collection", resources)}, outcome(
        nhs, "Brain secondary related to a lung primary: 'A secondary whose condition-related extension points to a non-breast primary never counts' (rule 4).",
    )  # fmt: skip


@scenario
def p13_lung_cancer_with_liver_mets_no_breast() -> tuple[Files, Expected]:
    n, nhs = 13, NUMBERS[13]
    subj = ref("Patient", "p13")
    resources = [
        patient("p13", nhs),
        condition("p13-lung", subj, icd("C34.1"), onset="2021-01-05"),
        condition("p13-liver", subj, icd("C78.7"), onset="2021-01-20"),
    ]
    return {f"p{n:03}-lung-only.json": bundle("collection", resources)}, outcome(
        nhs, "No breast primary: secondaries count only for a patient with a breast primary (rule 4).",
        breast_primary=False,
    )  # fmt: skip


@scenario
def p14_unknown_primary_with_bone() -> tuple[Files, Expected]:
    n, nhs = 14, NUMBERS[14]
    subj = ref("Patient", "p14")
    resources = [
        patient("p14", nhs),
        condition("p14-cup", subj, icd("C80.9"), onset="2022-02-02"),
        condition("p14-bone", subj, icd("C79.5"), onset="2022-02-02"),
    ]
    return {f"p{n:03}-cup.json": bundle("collection", resources)}, outcome(
        nhs, "C80 with bone secondary, no breast primary: 'Cancer of unknown primary (C80) is not breast cancer' (rule 4).",
        breast_primary=False,
    )  # fmt: skip


@scenario
def p15_unknown_primary_in_breast_survivor() -> tuple[Files, Expected]:
    n, nhs = 15, NUMBERS[15]
    subj = ref("Patient", "p15")
    resources = [
        patient("p15", nhs),
        *primary_with_remission(n, subj, "2015-04-04", "2016-01-10"),
        condition("p15-cup", subj, icd("C80.9"), onset="2021-07-07"),
    ]
    return {f"p{n:03}-cup-after-breast.json": bundle("collection", resources)}, outcome(
        nhs, "C80 alone (no secondary code) after breast remission: C80 'is not breast cancer' (rule 4). A review flag would be welcome.",
    )  # fmt: skip


@scenario
def p16_axillary_nodes_at_diagnosis() -> tuple[Files, Expected]:
    n, nhs = 16, NUMBERS[16]
    subj = ref("Patient", "p16")
    resources = [
        patient("p16", nhs),
        condition("p16-primary", subj, icd("C50.4"), onset="2019-04-01", body_site=LEFT),
        condition("p16-nodes", subj, icd("C77.3"), onset="2019-04-01"),
    ]
    return {f"p{n:03}-nodes-at-diagnosis.json": bundle("collection", resources)}, outcome(
        nhs, "Axillary nodes at first diagnosis: 'lymph nodes involved at first diagnosis are staging (N), not sites' (rule 5).",
    )  # fmt: skip


@scenario
def p17_regional_recurrence_c77_3() -> tuple[Files, Expected]:
    n, nhs = 17, NUMBERS[17]
    subj = ref("Patient", "p17")
    resources = [
        patient("p17", nhs),
        *primary_with_remission(n, subj, "2013-06-06", "2014-03-01"),
        condition("p17-axilla", subj, icd("C77.3"), onset="2018-09-12"),
    ]
    return {f"p{n:03}-regional.json": bundle("collection", resources)}, outcome(
        nhs, "C77.3 after remission: regional recurrence (rules 5, 8, 9); 'A regional-only recurrence is not metastatic' (rule 10).",
        recurrence=True, types=["regional"], sites=["regional_lymph_nodes"], episode="2018-09-12",
    )  # fmt: skip


@scenario
def p18_regional_finding_399374009() -> tuple[Files, Expected]:
    n, nhs = 18, NUMBERS[18]
    subj = ref("Patient", "p18")
    resources = [
        patient("p18", nhs),
        *primary_with_remission(n, subj, "2016-01-20", "2016-10-10", status="inactive"),
        condition("p18-regional", subj, snomed("399374009"), onset="2019-11-04", category="encounter-diagnosis"),
    ]  # fmt: skip
    return {f"p{n:03}-regional-finding.json": bundle("batch", resources)}, outcome(
        nhs, "'Regional lymph node metastasis present' finding after an inactive primary: regional recurrence (code table: regional; rule 7 inactive).",
        recurrence=True, types=["regional"], sites=["regional_lymph_nodes"], episode="2019-11-04",
    )  # fmt: skip


@scenario
def p19_bare_secondary_with_axillary_body_site() -> tuple[Files, Expected]:
    n, nhs = 19, NUMBERS[19]
    subj = ref("Patient", "p19")
    resources = [
        patient("p19", nhs),
        *primary_with_remission(n, subj, "2015-09-09", "2016-05-05"),
        condition(
            "p19-axilla", subj, snomed("128462008", "Secondary malignant neoplastic disease"),
            onset="2020-03-03", body_site=AXILLA, profile=MCODE + "secondary-cancer-condition",
        ),
    ]  # fmt: skip
    return {f"p{n:03}-128462008-axilla.json": bundle("collection", resources)}, outcome(
        nhs, "128462008 with axillary bodySite -> regional_lymph_nodes (rule 5): regional only, not metastatic (rule 10).",
        recurrence=True, types=["regional"], sites=["regional_lymph_nodes"], episode="2020-03-03",
    )  # fmt: skip


@scenario
def p20_bone_marrow_94217008() -> tuple[Files, Expected]:
    n, nhs = 20, NUMBERS[20]
    subj = ref("Patient", "p20")
    resources = [
        patient("p20", nhs),
        *primary_with_remission(n, subj, "2014-04-14", "2015-03-03"),
        condition("p20-marrow", subj, snomed("94217008"), onset="2021-12-01"),
    ]
    return {f"p{n:03}-marrow.json": bundle("collection", resources)}, outcome(
        nhs, "94217008 -> bone_marrow (rule 5) after remission: distant recurrence.",
        recurrence=True, types=["distant"], metastatic=True, sites=["bone_marrow"], episode="2021-12-01",
    )  # fmt: skip


@scenario
def p21_marrow_body_site_progression() -> tuple[Files, Expected]:
    n, nhs = 21, NUMBERS[21]
    subj = ref("Patient", "p21")
    resources = [
        patient("p21", nhs),
        condition("p21-primary", subj, snomed(*BREAST_PRIMARY_SCT), onset="2019-01-10"),
        condition("p21-marrow", subj, snomed("128462008"), onset="2020-06-01", body_site=MARROW),
    ]
    return {f"p{n:03}-marrow-site.json": bundle("collection", resources)}, outcome(
        nhs, "128462008 + bone marrow bodySite -> bone_marrow (rule 5); 17 months on, never disease-free: progression (rule 8).",
        metastatic=True, sites=["bone_marrow"], episode="2020-06-01",
    )  # fmt: skip


@scenario
def p22_skin_undotted() -> tuple[Files, Expected]:
    n, nhs = 22, NUMBERS[22]
    subj = ref("Patient", "p22")
    resources = [
        patient("p22", nhs, meta=False),
        *primary_with_remission(n, subj, "2016-08-08", "2017-04-04", code=icd("C504")),
        condition("p22-skin", subj, icd("C792"), onset="2022-01-18"),
    ]
    return {f"p{n:03}-skin-undotted.ndjson": resources}, outcome(
        nhs, "Undotted ICD-10 C504 / C792 (rule 3 'dotted or not'): skin recurrence.",
        recurrence=True, types=["distant"], metastatic=True, sites=["skin"], episode="2022-01-18",
    )  # fmt: skip


@scenario
def p23_pleura_snomed() -> tuple[Files, Expected]:
    n, nhs = 23, NUMBERS[23]
    subj = ref("Patient", "p23")
    resources = [
        patient("p23", nhs),
        *primary_with_remission(n, subj, "2017-02-02", "2017-12-12", status="resolved"),
        condition("p23-pleura", subj, snomed("94493005", "Secondary malignant neoplasm of pleura"), onset="2021-05-05"),
    ]  # fmt: skip
    return {f"p{n:03}-pleura.json": bundle("collection", resources)}, outcome(
        nhs, "94493005 pleura -> other (rule 5): distant recurrence.",
        recurrence=True, types=["distant"], metastatic=True, sites=["other"], episode="2021-05-05",
    )  # fmt: skip


@scenario
def p24_peritoneum_de_novo() -> tuple[Files, Expected]:
    n, nhs = 24, NUMBERS[24]
    subj = ref("Patient", "p24")
    resources = [
        patient("p24", nhs),
        condition("p24-primary", subj, icd("C50.9"), onset="2022-03-03"),
        condition("p24-peritoneum", subj, icd("C78.6"), onset="2022-04-10"),
    ]
    return {f"p{n:03}-peritoneum.json": bundle("collection", resources)}, outcome(
        nhs, "C78.6 peritoneum -> other (rule 5), 38 days after diagnosis: de novo.",
        metastatic=True, de_novo=True, sites=["other"], episode="2022-04-10",
    )  # fmt: skip


@scenario
def p25_icd10_cm_bone() -> tuple[Files, Expected]:
    n, nhs = 25, NUMBERS[25]
    subj = ref("Patient", "p25")
    resources = [
        patient("p25", nhs),
        *primary_with_remission(n, subj, "2015-10-10", "2016-09-09", code=icd("C50.912", system=ICD10_CM)),
        condition("p25-bone", subj, icd("C79.51", "Secondary malignant neoplasm of bone", system=ICD10_CM), onset="2023-02-14"),
    ]  # fmt: skip
    return {f"p{n:03}-icd10cm.json": bundle("collection", resources)}, outcome(
        nhs, "ICD-10-CM C50.912 / C79.51 from a foreign sender: 'accept them ..., map by prefix' (codes): bone recurrence.",
        recurrence=True, types=["distant"], metastatic=True, sites=["bone"], episode="2023-02-14",
    )  # fmt: skip


@scenario
def p26_icd10_cm_bone_marrow() -> tuple[Files, Expected]:
    n, nhs = 26, NUMBERS[26]
    subj = ref("Patient", "p26")
    resources = [
        patient("p26", nhs),
        *primary_with_remission(n, subj, "2015-10-10", "2016-09-09"),
        condition("p26-marrow", subj, icd("C79.52", system=ICD10_CM), onset="2023-03-14"),
    ]
    return {f"p{n:03}-icd10cm-marrow.json": bundle("collection", resources)}, outcome(
        nhs, "ICD-10-CM C79.52 is bone marrow; 'map by prefix' gives C79.5 -> bone. Reading: bone_marrow (the sender said so). Site ambiguous.",
        recurrence=True, types=["distant"], metastatic=True, sites=["bone_marrow"], episode="2023-03-14",
        ambiguous_fields=["metastatic_sites"],
    )  # fmt: skip


# --- 2. Observations: M category and disease status --------------------------------------------


@scenario
def p27_cm1_snomed_after_remission() -> tuple[Files, Expected]:
    n, nhs = 27, NUMBERS[27]
    subj = ref("Patient", "p27")
    resources = [
        patient("p27", nhs),
        *primary_with_remission(n, subj, "2016-03-03", "2017-01-01"),
        observation("p27-m", subj, M_CLINICAL_SCT, CM1, "2021-08-19", profile=MCODE + "tnm-distant-metastases-category"),
    ]  # fmt: skip
    return {f"p{n:03}-cm1-snomed.json": bundle("collection", resources)}, outcome(
        nhs, "cM1 (SNOMED code + value) after remission: 'distant M1 ... evidence after remission' (rule 8); no specific site -> unknown (rule 5).",
        recurrence=True, types=["distant"], metastatic=True, sites=["unknown"], episode="2021-08-19",
    )  # fmt: skip


@scenario
def p28_pm1_loinc_at_diagnosis() -> tuple[Files, Expected]:
    n, nhs = 28, NUMBERS[28]
    subj = ref("Patient", "p28")
    resources = [
        patient("p28", nhs),
        condition("p28-primary", subj, icd("C50.3"), onset="2022-06-06"),
        observation("p28-m", subj, M_PATH_LOINC, PM1, "2022-06-30"),
    ]
    return {f"p{n:03}-pm1-loinc.json": bundle("collection", resources)}, outcome(
        nhs, "pM1 (LOINC 21901-4) 24 days after diagnosis: de novo, site unknown (rules 5, 6).",
        metastatic=True, de_novo=True, sites=["unknown"], episode="2022-06-30",
    )  # fmt: skip


@scenario
def p29_cm0_is_not_metastatic() -> tuple[Files, Expected]:
    n, nhs = 29, NUMBERS[29]
    subj = ref("Patient", "p29")
    resources = [
        patient("p29", nhs),
        condition("p29-primary", subj, icd("C50.3"), onset="2022-06-06"),
        observation("p29-m", subj, M_CLINICAL_LOINC, CM0, "2022-06-20"),
    ]
    return {f"p{n:03}-cm0.json": bundle("collection", resources)}, outcome(
        nhs, "cM0: 'M0 is not metastatic' (codes)."
    )


@scenario
def p30_not_detected_then_bone() -> tuple[Files, Expected]:
    n, nhs = 30, NUMBERS[30]
    subj = ref("Patient", "p30")
    resources = [
        patient("p30", nhs),
        condition("p30-primary", subj, icd("C50.1"), onset="2016-05-05"),
        disease_status("p30-status", subj, "260415000", "2017-05-05", focus=ref("Condition", "p30-primary")),
        condition("p30-bone", subj, icd("C79.5"), onset="2020-10-10"),
    ]  # fmt: skip
    return {f"p{n:03}-not-detected.json": bundle("collection", resources)}, outcome(
        nhs, "Disease status 'not detected' 260415000 (rule 7) then bone: distant recurrence (rule 8).",
        recurrence=True, types=["distant"], metastatic=True, sites=["bone"], episode="2020-10-10",
    )  # fmt: skip


@scenario
def p31_worsened_without_site() -> tuple[Files, Expected]:
    n, nhs = 31, NUMBERS[31]
    subj = ref("Patient", "p31")
    resources = [
        patient("p31", nhs),
        condition("p31-primary", subj, icd("C50.1"), onset="2019-05-05"),
        disease_status("p31-status", subj, "271299001", "2020-09-09"),
    ]
    return {f"p{n:03}-worsened.json": bundle("collection", resources)}, outcome(
        nhs, "'Worsened' with no distant site known is progression and sets nothing' (rule 8).",
    )  # fmt: skip


@scenario
def p32_full_remission_then_liver() -> tuple[Files, Expected]:
    n, nhs = 32, NUMBERS[32]
    subj = ref("Patient", "p32")
    resources = [
        patient("p32", nhs),
        condition("p32-primary", subj, icd("C50.1"), onset="2015-05-05"),
        disease_status("p32-status", subj, "550991000124107", "2016-02-02"),
        condition("p32-liver", subj, concept(coding(SCT, "94381002")), onset="2019-12-12"),
    ]
    return {f"p{n:03}-full-remission.ndjson": resources}, outcome(
        nhs, "Disease status 'full remission' 550991000124107 (rule 7) then liver: distant recurrence.",
        recurrence=True, types=["distant"], metastatic=True, sites=["liver"], episode="2019-12-12",
    )  # fmt: skip


@scenario
def p33_no_abnormality_then_cm1() -> tuple[Files, Expected]:
    n, nhs = 33, NUMBERS[33]
    subj = ref("Patient", "p33")
    resources = [
        patient("p33", nhs),
        condition("p33-primary", subj, snomed(*BREAST_SCT), onset="2014-07-07"),
        disease_status("p33-status", subj, "281900007", "2015-07-07"),
        observation("p33-m", subj, M_CLINICAL_LOINC, CM1, "2020-03-30"),
    ]
    return {f"p{n:03}-nad-then-m1.json": bundle("collection", resources)}, outcome(
        nhs, "'No abnormality detected' 281900007 (rule 7), then cM1 (LOINC 21907-1): distant recurrence, site unknown.",
        recurrence=True, types=["distant"], metastatic=True, sites=["unknown"], episode="2020-03-30",
    )  # fmt: skip


@scenario
def p34_improved_is_not_disease_free() -> tuple[Files, Expected]:
    n, nhs = 34, NUMBERS[34]
    subj = ref("Patient", "p34")
    resources = [
        patient("p34", nhs),
        condition("p34-primary", subj, icd("C50.1"), onset="2018-05-05"),
        disease_status("p34-improved", subj, "268910001", "2018-12-12"),
        disease_status("p34-stable", subj, "359746009", "2019-06-06"),
        condition("p34-lung", subj, icd("C78.0"), onset="2020-08-08"),
    ]
    return {f"p{n:03}-improved.json": bundle("collection", resources)}, outcome(
        nhs, "'Improved' and 'stable' are not disease-free evidence (rule 7); lung two years on: progression, metastatic not recurrence (rule 8).",
        metastatic=True, sites=["lung"], episode="2020-08-08",
    )  # fmt: skip


@scenario
def p35_status_flip_only() -> tuple[Files, Expected]:
    n, nhs = 35, NUMBERS[35]
    subj = ref("Patient", "p35")
    code = icd("C50.4")
    resources = [
        patient("p35", nhs),
        condition("p35-primary", subj, code, onset="2017-01-01", version="1", updated="2017-01-05T10:00:00Z"),
        condition("p35-primary", subj, code, onset="2017-01-01", clinical="recurrence", version="2", updated="2022-02-14T09:30:00Z"),
    ]  # fmt: skip
    return {f"p{n:03}-flip.json": bundle("collection", resources)}, outcome(
        nhs, "Primary flips to recurrence, no site evidence: recurrence, type not known, list empty (rule 9); date = lastUpdated of the first recurrence version (rule 11).",
        recurrence=True, episode="2022-02-14",
    )  # fmt: skip


@scenario
def p36_relapse_versions_newest_first() -> tuple[Files, Expected]:
    n, nhs = 36, NUMBERS[36]
    subj = ref("Patient", "p36")
    code = snomed(*BREAST_SCT)

    def version(v: str, status: str, updated: str) -> Resource:
        return condition(
            "p36-primary",
            subj,
            code,
            onset="2016-04-04",
            clinical=status,
            version=v,
            updated=updated,
        )

    resources = [
        version("4", "relapse", "2023-05-01T08:00:00Z"),
        version("3", "relapse", "2023-01-10T08:00:00Z"),
        version("2", "remission", "2017-03-03T08:00:00Z"),
        version("1", "active", "2016-04-10T08:00:00Z"),
        patient("p36", nhs),
    ]
    return {f"p{n:03}-relapse-newest-first.ndjson": resources}, outcome(
        nhs, "Versions newest-first; first relapse version is v3 (2023-01-10): rule 11 date, rule 9 empty types.",
        recurrence=True, episode="2023-01-10",
    )  # fmt: skip


@scenario
def p37_entered_in_error_retracts_bone() -> tuple[Files, Expected]:
    n, nhs = 37, NUMBERS[37]
    subj = ref("Patient", "p37")
    bone = snomed("94222008")
    resources = [
        condition("p37-bone", subj, bone, onset="2021-04-04", verification="entered-in-error", version="2", updated="2021-04-20T12:00:00Z"),
        patient("p37", nhs),
        *primary_with_remission(n, subj, "2015-01-01", "2015-11-11"),
        condition("p37-bone", subj, bone, onset="2021-04-04", version="1", updated="2021-04-05T12:00:00Z"),
    ]  # fmt: skip
    return {f"p{n:03}-entered-in-error.ndjson": resources}, outcome(
        nhs, "Bone secondary whose latest version (arriving first) is entered-in-error: 'contributes nothing, and what its earlier versions raised is retracted' (rule 1).",
    )  # fmt: skip


@scenario
def p38_refuted_liver() -> tuple[Files, Expected]:
    n, nhs = 38, NUMBERS[38]
    subj = ref("Patient", "p38")
    liver = icd("C78.7")
    resources = [
        patient("p38", nhs),
        *primary_with_remission(n, subj, "2015-01-01", "2015-11-11"),
        condition("p38-liver", subj, liver, onset="2021-04-04", version="1", updated="2021-04-05T12:00:00Z"),
        condition("p38-liver", subj, liver, onset="2021-04-04", verification="refuted", version="2", updated="2021-05-01T12:00:00Z"),
    ]  # fmt: skip
    return {f"p{n:03}-refuted.json": bundle("collection", resources)}, outcome(
        nhs, "Liver secondary later refuted: contributes nothing (rule 1)."
    )


@scenario
def p39_provisional_lung() -> tuple[Files, Expected]:
    n, nhs = 39, NUMBERS[39]
    subj = ref("Patient", "p39")
    resources = [
        patient("p39", nhs),
        *primary_with_remission(n, subj, "2015-01-01", "2015-11-11"),
        condition("p39-lung", subj, icd("C78.0"), onset="2021-04-04", verification="provisional"),
    ]
    return {f"p{n:03}-provisional.json": bundle("collection", resources)}, outcome(
        nhs, "Provisional lung secondary: 'does not set any outcome; it may raise a flag marked for review' (rule 1).",
    )  # fmt: skip


@scenario
def p40_differential_brain() -> tuple[Files, Expected]:
    n, nhs = 40, NUMBERS[40]
    subj = ref("Patient", "p40")
    resources = [
        patient("p40", nhs),
        condition("p40-primary", subj, icd("C50.4"), onset="2021-01-01"),
        condition("p40-brain", subj, icd("C79.3"), onset="2021-01-20", verification="differential"),
        condition("p40-bone", subj, icd("C79.5"), onset="2021-01-22", verification="unconfirmed"),
    ]
    return {f"p{n:03}-differential.json": bundle("collection", resources)}, outcome(
        nhs, "Differential brain and unconfirmed bone at diagnosis: neither sets an outcome (rule 1).",
    )  # fmt: skip


@scenario
def p41_verification_absent_counts() -> tuple[Files, Expected]:
    n, nhs = 41, NUMBERS[41]
    subj = ref("Patient", "p41")
    resources = [
        patient("p41", nhs),
        *primary_with_remission(n, subj, "2015-01-01", "2015-11-11"),
        condition("p41-liver", subj, icd("C78.7"), onset="2020-02-20", verification=None),
    ]
    return {f"p{n:03}-no-verification.json": bundle("collection", resources)}, outcome(
        nhs, "verificationStatus absent (optional in R4): only unconfirmed/provisional/differential/refuted/entered-in-error disqualify (rule 1); liver recurrence.",
        recurrence=True, types=["distant"], metastatic=True, sites=["liver"], episode="2020-02-20",
    )  # fmt: skip


# --- 3. identity -------------------------------------------------------------------------------


@scenario
def p42_two_trusts_one_nhs_number() -> tuple[Files, Expected]:
    n, nhs = 42, NUMBERS[42]
    trust_a, trust_b = ref("Patient", "p42-trust-a"), ref("Patient", "p42-trust-b")
    first = [
        patient("p42-trust-a", nhs, mrn="A4200"),
        *primary_with_remission(n, trust_a, "2016-06-06", "2017-06-06"),
    ]
    second = [
        patient("p42-trust-b", nhs, gp="B82002", mrn="B9942"),
        condition("p42-bone-b", trust_b, icd("C79.5"), onset="2021-09-09"),
    ]
    return {
        f"p{n:03}-trust-a.json": bundle("collection", first),
        f"p{n:03}-trust-b.json": bundle("searchset", second),
    }, outcome(
        nhs, "Same NHS number under two Patient ids: one patient (rule 2); bone after remission at the other trust: distant recurrence.",
        recurrence=True, types=["distant"], metastatic=True, sites=["bone"], episode="2021-09-09",
    )  # fmt: skip


@scenario
def p43_subject_by_identifier_only() -> tuple[Files, Expected]:
    n, nhs = 43, NUMBERS[43]
    subj = by_identifier(nhs)
    return {
        f"p{n:03}-a-primary.json": condition("p43-primary", subj, icd("C50.5"), onset="2022-09-01"),
        f"p{n:03}-b-lung.json": condition("p43-lung", subj, icd("C78.0"), onset="2022-09-25"),
    }, outcome(
        nhs, "No Patient resource; subject.identifier carries the NHS number (rule 2): de novo lung.",
        metastatic=True, de_novo=True, sites=["lung"], episode="2022-09-25",
    )  # fmt: skip


@scenario
def p44_no_nhs_number() -> tuple[Files, Expected]:
    n = 44
    subj = ref("Patient", "p44-anon")
    resources = [
        patient("p44-anon", None, mrn="X44"),
        *primary_with_remission(n, subj, "2014-02-02", "2015-02-02"),
        condition("p44-brain", subj, icd("C79.3"), onset="2019-06-16"),
    ]
    return {f"p{n:03}-no-nhs-number.json": bundle("collection", resources)}, outcome(
        "Patient/p44-anon", "No NHS number: key is Patient/<id> (rule 2); brain recurrence.",
        recurrence=True, types=["distant"], metastatic=True, sites=["brain"], episode="2019-06-16",
    )  # fmt: skip


# --- 4. dates ----------------------------------------------------------------------------------


@scenario
def p45_onset_period() -> tuple[Files, Expected]:
    n, nhs = 45, NUMBERS[45]
    subj = ref("Patient", "p45")
    resources = [
        patient("p45", nhs),
        *primary_with_remission(n, subj, "2016-01-01", "2017-01-01"),
        condition("p45-bone", subj, icd("C79.5"), onset_period="2021-11-02"),
    ]
    return {f"p{n:03}-onset-period.json": bundle("collection", resources)}, outcome(
        nhs, "Secondary dated by onsetPeriod.start: the onset (rule 11).",
        recurrence=True, types=["distant"], metastatic=True, sites=["bone"], episode="2021-11-02",
    )  # fmt: skip


@scenario
def p46_onset_string_uses_recorded_date() -> tuple[Files, Expected]:
    n, nhs = 46, NUMBERS[46]
    subj = ref("Patient", "p46")
    resources = [
        patient("p46", nhs),
        *primary_with_remission(n, subj, "2016-01-01", "2017-01-01"),
        condition("p46-liver", subj, icd("C78.7"), onset_string="late summer 2020", recorded="2020-09-20"),
    ]  # fmt: skip
    return {f"p{n:03}-onset-string.json": bundle("collection", resources)}, outcome(
        nhs, "onsetString is not a date; recordedDate stands in (rule 11 'onset (else recordedDate)').",
        recurrence=True, types=["distant"], metastatic=True, sites=["liver"], episode="2020-09-20",
    )  # fmt: skip


@scenario
def p47_recorded_date_only() -> tuple[Files, Expected]:
    n, nhs = 47, NUMBERS[47]
    subj = ref("Patient", "p47")
    resources = [
        patient("p47", nhs),
        condition("p47-primary", subj, icd("C50.9"), recorded="2018-05-05"),
        condition("p47-liver", subj, icd("C78.7"), recorded="2018-06-30"),
    ]
    return {f"p{n:03}-recorded-only.json": bundle("collection", resources)}, outcome(
        nhs, "Only recordedDate on both (rule 3): 56 days apart, de novo.",
        metastatic=True, de_novo=True, sites=["liver"], episode="2018-06-30",
    )  # fmt: skip


@scenario
def p48_partial_month_de_novo() -> tuple[Files, Expected]:
    n, nhs = 48, NUMBERS[48]
    subj = ref("Patient", "p48")
    resources = [
        patient("p48", nhs),
        condition("p48-primary", subj, icd("C50.9"), onset="2021-03"),
        condition("p48-bone", subj, icd("C79.5"), onset="2021-05-20"),
    ]
    return {f"p{n:03}-partial-month.json": bundle("collection", resources)}, outcome(
        nhs, "Primary onset '2021-03' = 2021-03-01 (rule 3); bone 80 days later: de novo.",
        metastatic=True, de_novo=True, sites=["bone"], episode="2021-05-20",
    )  # fmt: skip


@scenario
def p49_partial_year_then_lung_month() -> tuple[Files, Expected]:
    n, nhs = 49, NUMBERS[49]
    subj = ref("Patient", "p49")
    resources = [
        patient("p49", nhs),
        condition(
            "p49-primary", subj, icd("C50.9"), onset="2017", clinical="remission", abatement="2018"
        ),
        condition("p49-lung", subj, icd("C78.0"), onset="2022-04"),
    ]
    return {f"p{n:03}-partial-year.json": bundle("collection", resources)}, outcome(
        nhs, "Year-only primary in remission with year-only abatement; lung '2022-04' = 2022-04-01: distant recurrence.",
        recurrence=True, types=["distant"], metastatic=True, sites=["lung"], episode="2022-04-01",
    )  # fmt: skip


# --- 5. episodes and combinations --------------------------------------------------------------


@scenario
def p50_two_episodes_bone_then_liver() -> tuple[Files, Expected]:
    n, nhs = 50, NUMBERS[50]
    subj = ref("Patient", "p50")
    code = icd("C50.4")
    bone = icd("C79.5")
    resources = [
        patient("p50", nhs),
        condition("p50-primary", subj, code, onset="2015-02-02", version="1", updated="2015-02-05T09:00:00Z"),
        condition("p50-primary", subj, code, onset="2015-02-02", clinical="remission", version="2", updated="2016-02-02T09:00:00Z"),
        condition("p50-bone", subj, bone, onset="2019-03-01", version="1", updated="2019-03-02T09:00:00Z"),
        condition("p50-bone", subj, bone, onset="2019-03-01", clinical="remission", abatement="2020-05-05", version="2", updated="2020-05-06T09:00:00Z"),
        disease_status("p50-status", subj, "550991000124107", "2020-06-01"),
        condition("p50-liver", subj, icd("C78.7"), onset="2022-02-10"),
    ]  # fmt: skip
    return {f"p{n:03}-two-episodes.json": bundle("collection", resources)}, outcome(
        nhs, "Bone recurrence 2019 treated into remission (abatement + full remission status), liver 2022: two episodes (issue). "
        "Patient-level sites and date are open: reading = the latest episode (liver, 2022-02-10).",
        recurrence=True, types=["distant"], metastatic=True, sites=["liver"], episode="2022-02-10",
        ambiguous_fields=["metastatic_sites", "episode_date"], episodes=2,
    )  # fmt: skip


@scenario
def p51_new_site_in_same_episode() -> tuple[Files, Expected]:
    n, nhs = 51, NUMBERS[51]
    subj = ref("Patient", "p51")
    resources = [
        patient("p51", nhs),
        *primary_with_remission(n, subj, "2015-03-03", "2016-03-03"),
        condition("p51-bone", subj, icd("C79.5"), onset="2021-01-10"),
        condition("p51-liver", subj, icd("C78.7"), onset="2021-02-20"),
    ]
    return {f"p{n:03}-same-episode.json": bundle("collection", resources)}, outcome(
        nhs, "Bone then liver six weeks later, no remission between: one episode updated (issue); date = earliest evidence (rule 11).",
        recurrence=True, types=["distant"], metastatic=True, sites=["bone", "liver"], episode="2021-01-10", episodes=1,
    )  # fmt: skip


@scenario
def p52_multiple_codings_de_novo() -> tuple[Files, Expected]:
    n, nhs = 52, NUMBERS[52]
    subj = ref("Patient", "p52")
    resources = [
        patient("p52", nhs),
        condition(
            "p52-primary", subj,
            concept(coding(SCT, "254837009", "Malignant neoplasm of breast"), coding(ICD10, "C50.9"), text="Breast cancer"),
            onset="2023-01-09",
        ),
        condition(
            "p52-liver", subj,
            concept(coding(SCT, "94381002", "Metastatic malignant neoplasm to liver"), coding(ICD10, "C78.7")),
            onset="2023-02-01",
        ),
    ]  # fmt: skip
    return {f"p{n:03}-multi-coding.json": bundle("collection", resources)}, outcome(
        nhs, "SNOMED + ICD-10 in one CodeableConcept; one liver site, not two: de novo.",
        metastatic=True, de_novo=True, sites=["liver"], episode="2023-02-01",
    )  # fmt: skip


@scenario
def p53_text_only_secondary() -> tuple[Files, Expected]:
    n, nhs = 53, NUMBERS[53]
    subj = ref("Patient", "p53")
    resources = [
        patient("p53", nhs),
        *primary_with_remission(n, subj, "2015-03-03", "2016-03-03"),
        condition(
            "p53-text", subj, concept(text="Metastatic breast cancer to bone"), onset="2021-01-10"
        ),
    ]
    return {f"p{n:03}-text-only.json": bundle("collection", resources)}, outcome(
        nhs, "Free text only, no code: 'match on code, never on display text' (codes). A review flag would be welcome.",
    )  # fmt: skip


@scenario
def p54_clinical_status_text_only() -> tuple[Files, Expected]:
    n, nhs = 54, NUMBERS[54]
    subj = ref("Patient", "p54")
    resources = [
        patient("p54", nhs),
        condition("p54-primary", subj, icd("C50.9"), onset="2014-03-03", clinical=None, clinical_text="Remission", version="2", updated="2015-03-03T10:00:00Z"),
        condition("p54-bone", subj, icd("C79.5"), onset="2019-01-10"),
    ]  # fmt: skip
    return {f"p{n:03}-status-text.json": bundle("collection", resources)}, outcome(
        nhs, "Primary's clinicalStatus only as text 'Remission'. Codes rule says never match on text, so no disease-free evidence: "
        "progression (metastatic, not recurrence). A reader may take the text. Ambiguous.",
        metastatic=True, sites=["bone"], episode="2019-01-10", ambiguous=True,
    )  # fmt: skip


@scenario
def p55_history_of_metastatic_disease() -> tuple[Files, Expected]:
    n, nhs = 55, NUMBERS[55]
    subj = ref("Patient", "p55")
    resources = [
        patient("p55", nhs),
        condition("p55-primary", subj, icd("C50.9"), onset="2012-03-03", clinical="inactive"),
        condition(
            "p55-history", subj, snomed("1287652008"), recorded="2023-03-03", clinical="inactive"
        ),
    ]
    return {f"p{n:03}-history-of-mets.json": bundle("collection", resources)}, outcome(
        nhs, "'History of metastatic malignant neoplasm' only: past metastatic disease, no date or site. Rule 10 'at any time' "
        "suggests metastatic; the rules do not list 1287652008 as secondary evidence. Reading: metastatic, site unknown, undated.",
        metastatic=True, sites=["unknown"], ambiguous=True,
    )  # fmt: skip


@scenario
def p56_z85_history_with_bone() -> tuple[Files, Expected]:
    n, nhs = 56, NUMBERS[56]
    subj = ref("Patient", "p56")
    resources = [
        patient("p56", nhs),
        condition("p56-history", subj, icd("Z85.3"), recorded="2019-01-01", clinical="inactive"),
        condition("p56-bone", subj, icd("C79.5"), onset="2023-05-05"),
    ]
    return {f"p{n:03}-z85-bone.json": bundle("collection", resources)}, outcome(
        nhs, "Z85.3 history + bone secondary: 'Z85.3 alone do not count' (rule 3), so the secondary is not attributed (rule 4). "
        "Clinically suspicious: a review flag would be welcome.",
        breast_primary=False,
    )  # fmt: skip


@scenario
def p57_searchset_undotted_brain_after_resolved() -> tuple[Files, Expected]:
    n, nhs = 57, NUMBERS[57]
    subj = ref("Patient", "p57")
    resources = [
        condition("p57-primary", subj, icd("C501"), onset="2013-09-09", clinical="resolved", abatement="2014-05-05"),
        condition("p57-brain", subj, icd("C793"), onset="2020-12-12"),
        patient("p57", nhs),
    ]  # fmt: skip
    return {f"p{n:03}-searchset.json": bundle("searchset", resources)}, outcome(
        nhs, "Searchset, undotted C501/C793, resolved primary: brain recurrence.",
        recurrence=True, types=["distant"], metastatic=True, sites=["brain"], episode="2020-12-12",
    )  # fmt: skip


@scenario
def p58_batch_regional_and_distant() -> tuple[Files, Expected]:
    n, nhs = 58, NUMBERS[58]
    subj = ref("Patient", "p58")
    resources = [
        patient("p58", nhs),
        *primary_with_remission(n, subj, "2014-09-09", "2015-09-09"),
        condition("p58-axilla", subj, icd("C77.3"), onset="2021-03-03"),
        condition("p58-lung", subj, icd("C78.0"), onset="2021-03-10"),
    ]
    return {f"p{n:03}-batch-regional-distant.json": bundle("batch", resources)}, outcome(
        nhs, "Axillary nodes and lung together after remission: regional + distant (rule 9).",
        recurrence=True, types=["distant", "regional"], metastatic=True,
        sites=["lung", "regional_lymph_nodes"], episode="2021-03-03",
    )  # fmt: skip


@scenario
def p59_m1_observation_entered_in_error() -> tuple[Files, Expected]:
    n, nhs = 59, NUMBERS[59]
    subj = ref("Patient", "p59")
    resources = [
        patient("p59", nhs),
        condition("p59-primary", subj, icd("C50.9"), onset="2022-01-01"),
        observation("p59-m", subj, M_CLINICAL_SCT, CM1, "2022-01-20", status="entered-in-error"),
    ]
    return {f"p{n:03}-m1-error.json": bundle("collection", resources)}, outcome(
        nhs, "cM1 Observation entered-in-error: 'is ignored' (rule 1).",
    )  # fmt: skip


@scenario
def p60_distant_metastasis_present_finding() -> tuple[Files, Expected]:
    n, nhs = 60, NUMBERS[60]
    subj = ref("Patient", "p60")
    resources = [
        patient("p60", nhs),
        *primary_with_remission(n, subj, "2014-09-09", "2015-09-09"),
        condition(
            "p60-distant",
            subj,
            snomed("399409002"),
            onset="2021-07-07",
            category="encounter-diagnosis",
        ),
    ]
    return {f"p{n:03}-399409002.json": bundle("collection", resources)}, outcome(
        nhs, "'Distant metastasis present' 399409002 after remission: distant recurrence, site unknown (rules 5, 8).",
        recurrence=True, types=["distant"], metastatic=True, sites=["unknown"], episode="2021-07-07",
    )  # fmt: skip


@scenario
def p61_inguinal_nodes_distant() -> tuple[Files, Expected]:
    n, nhs = 61, NUMBERS[61]
    subj = ref("Patient", "p61")
    resources = [
        patient("p61", nhs),
        *primary_with_remission(n, subj, "2014-09-09", "2015-09-09"),
        condition("p61-inguinal", subj, icd("C77.4"), onset="2020-10-01"),
    ]
    return {f"p{n:03}-inguinal.json": bundle("collection", resources)}, outcome(
        nhs, "C77.4 inguinal nodes -> distant_lymph_nodes (rule 5): distant recurrence.",
        recurrence=True, types=["distant"], metastatic=True, sites=["distant_lymph_nodes"], episode="2020-10-01",
    )  # fmt: skip


@scenario
def p62_supraclavicular_c77_0() -> tuple[Files, Expected]:
    n, nhs = 62, NUMBERS[62]
    subj = ref("Patient", "p62")
    resources = [
        patient("p62", nhs),
        *primary_with_remission(n, subj, "2014-09-09", "2015-09-09"),
        condition("p62-neck", subj, icd("C77.0"), onset="2020-10-01"),
    ]
    return {f"p{n:03}-c77-0.json": bundle("collection", resources)}, outcome(
        nhs, "C77.0 head-neck nodes: codes say 'regional, ambiguous'. Reading: regional recurrence, regional_lymph_nodes, not metastatic.",
        recurrence=True, types=["regional"], sites=["regional_lymph_nodes"], episode="2020-10-01", ambiguous=True,
    )  # fmt: skip


@scenario
def p63_flip_and_bone() -> tuple[Files, Expected]:
    n, nhs = 63, NUMBERS[63]
    subj = ref("Patient", "p63")
    code = icd("C50.4")
    resources = [
        patient("p63", nhs),
        condition("p63-primary", subj, code, onset="2016-01-01", version="1", updated="2016-01-02T09:00:00Z"),
        condition("p63-primary", subj, code, onset="2016-01-01", clinical="recurrence", version="2", updated="2022-03-20T09:00:00Z"),
        condition("p63-bone", subj, snomed("94222008"), onset="2022-03-01"),
    ]  # fmt: skip
    return {f"p{n:03}-flip-and-bone.json": bundle("collection", resources)}, outcome(
        nhs, "Primary flips to recurrence and a bone secondary: distant, date = earliest evidence, the bone onset (rules 9, 11).",
        recurrence=True, types=["distant"], metastatic=True, sites=["bone"], episode="2022-03-01",
    )  # fmt: skip


@scenario
def p64_local_and_liver() -> tuple[Files, Expected]:
    n, nhs = 64, NUMBERS[64]
    subj = ref("Patient", "p64")
    resources = [
        patient("p64", nhs),
        *primary_with_remission(n, subj, "2014-09-09", "2015-09-09", side=RIGHT),
        condition("p64-local", subj, icd("C50.9"), onset="2021-03-03", body_site=RIGHT, clinical="recurrence"),
        condition("p64-liver", subj, icd("C78.7"), onset="2021-03-17"),
    ]  # fmt: skip
    return {f"p{n:03}-local-and-liver.json": bundle("collection", resources)}, outcome(
        nhs, "Same-side breast recurrence plus liver: local + distant (rule 9); local adds no site (rule 5).",
        recurrence=True, types=["distant", "local"], metastatic=True, sites=["liver"], episode="2021-03-03",
    )  # fmt: skip


@scenario
def p65_out_of_order_files() -> tuple[Files, Expected]:
    n, nhs = 65, NUMBERS[65]
    subj = ref("Patient", "p65")
    primary = primary_with_remission(n, subj, "2015-05-05", "2016-05-05")
    return {
        f"p{n:03}-a-liver.json": condition("p65-liver", subj, icd("C78.7"), onset="2020-05-05"),
        f"p{n:03}-b-remission-v2.json": primary[1],
        f"p{n:03}-c-patient.json": patient("p65", nhs),
        f"p{n:03}-d-primary-v1.json": primary[0],
    }, outcome(
        nhs, "Secondary arrives first, then the remission version, then v1: decide on clinical dates (issue). Distant recurrence.",
        recurrence=True, types=["distant"], metastatic=True, sites=["liver"], episode="2020-05-05",
    )  # fmt: skip


@scenario
def p66_no_meta_adrenal_de_novo_ndjson() -> tuple[Files, Expected]:
    n, nhs = 66, NUMBERS[66]
    subj = ref("Patient", "p66")
    resources = [
        patient("p66", nhs, meta=False),
        condition("p66-primary", subj, snomed("372137005"), onset="2023-04-04", profile=None),
        condition("p66-adrenal", subj, snomed("94161006"), onset="2023-04-28", profile=None),
    ]
    return {f"p{n:03}-no-meta.ndjson": resources}, outcome(
        nhs, "No meta anywhere; 94161006 adrenal -> other (rule 5): de novo.",
        metastatic=True, de_novo=True, sites=["other"], episode="2023-04-28",
    )  # fmt: skip


@scenario
def p67_mcode_related_to_breast_primary() -> tuple[Files, Expected]:
    n, nhs = 67, NUMBERS[67]
    subj = ref("Patient", "p67")
    resources = [
        patient("p67", nhs),
        condition(
            "p67-primary", subj, snomed(*BREAST_PRIMARY_SCT), onset="2014-11-11",
            clinical="remission", abatement="2015-08-08", profile=MCODE + "primary-cancer-condition",
        ),
        condition(
            "p67-lung", subj, snomed("94391008", "Metastatic malignant neoplasm to lung"), onset="2020-01-15",
            related=ref("Condition", "p67-primary"), profile=MCODE + "secondary-cancer-condition",
        ),
    ]  # fmt: skip
    return {f"p{n:03}-mcode-related.json": bundle("transaction", resources)}, outcome(
        nhs, "mCODE secondary related to the breast primary, after remission: distant recurrence.",
        recurrence=True, types=["distant"], metastatic=True, sites=["lung"], episode="2020-01-15",
    )  # fmt: skip


@scenario
def p68_primary_entered_in_error() -> tuple[Files, Expected]:
    n, nhs = 68, NUMBERS[68]
    subj = ref("Patient", "p68")
    code = icd("C50.9")
    resources = [
        patient("p68", nhs),
        condition("p68-primary", subj, code, onset="2021-01-01", version="1", updated="2021-01-02T09:00:00Z"),
        condition("p68-primary", subj, code, onset="2021-01-01", verification="entered-in-error", version="2", updated="2021-02-02T09:00:00Z"),
        condition("p68-bone", subj, icd("C79.5"), onset="2021-01-15"),
    ]  # fmt: skip
    return {f"p{n:03}-primary-error.json": bundle("collection", resources)}, outcome(
        nhs, "The breast primary itself was entered in error: no breast primary (rules 1, 3), so the bone secondary is not attributed (rule 4).",
        breast_primary=False,
    )  # fmt: skip


@scenario
def p69_abatement_only_then_bone() -> tuple[Files, Expected]:
    n, nhs = 69, NUMBERS[69]
    subj = ref("Patient", "p69")
    resources = [
        patient("p69", nhs),
        condition("p69-primary", subj, icd("C50.2"), onset="2015-02-02", abatement="2015-12-12"),
        condition("p69-bone", subj, icd("C79.5"), onset="2020-02-20"),
    ]
    return {f"p{n:03}-abatement.json": bundle("collection", resources)}, outcome(
        nhs, "abatementDateTime alone on an active-coded primary is disease-free evidence (rule 7): distant recurrence.",
        recurrence=True, types=["distant"], metastatic=True, sites=["bone"], episode="2020-02-20",
    )  # fmt: skip


@scenario
def p70_replayed_duplicate_files() -> tuple[Files, Expected]:
    n, nhs = 70, NUMBERS[70]
    subj = ref("Patient", "p70")
    resources = [
        patient("p70", nhs),
        condition("p70-primary", subj, icd("C50.9"), onset="2023-07-07"),
        condition("p70-bone", subj, icd("C79.5"), onset="2023-08-08"),
    ]
    return {
        f"p{n:03}-first-send.json": bundle("collection", resources),
        f"p{n:03}-resend.json": bundle("batch", resources),
    }, outcome(
        nhs, "The same resources sent twice: one patient, one answer: de novo bone.",
        metastatic=True, de_novo=True, sites=["bone"], episode="2023-08-08", episodes=1,
    )  # fmt: skip


@scenario
def p71_undetermined_status_sets_nothing() -> tuple[Files, Expected]:
    n, nhs = 71, NUMBERS[71]
    subj = ref("Patient", "p71")
    resources = [
        patient("p71", nhs),
        condition("p71-primary", subj, icd("C50.9"), onset="2019-07-07"),
        disease_status("p71-status", subj, "709137006", "2020-07-07"),
    ]
    return {f"p{n:03}-undetermined.json": bundle("collection", resources)}, outcome(
        nhs, "Disease status 'undetermined' sets nothing."
    )


@scenario
def p72_progression_bone_then_liver() -> tuple[Files, Expected]:
    n, nhs = 72, NUMBERS[72]
    subj = ref("Patient", "p72")
    resources = [
        patient("p72", nhs),
        condition("p72-primary", subj, icd("C50.9"), onset="2018-01-01", body_site=LEFT),
        condition("p72-bone", subj, icd("C79.5"), onset="2018-09-01"),
        condition("p72-liver", subj, icd("C78.7"), onset="2019-06-01"),
    ]
    return {f"p{n:03}-progression-two-sites.json": bundle("collection", resources)}, outcome(
        nhs, "Bone at 8 months and liver at 17 months, never disease-free: progression (rule 8), metastatic with both sites; date = earliest (rule 11).",
        metastatic=True, sites=["bone", "liver"], episode="2018-09-01",
    )  # fmt: skip


# --- 6. more sender shapes and edges -----------------------------------------------------------


@scenario
def p73_transaction_urn_with_ids() -> tuple[Files, Expected]:
    n, nhs = 73, NUMBERS[73]
    pid = "0b5e4a3c-0073-4c1d-8f00-000000000001"
    subj = {"reference": f"urn:uuid:{pid}"}
    resources = [
        patient("p73", nhs),
        *primary_with_remission(n, subj, "2015-03-03", "2016-03-03"),
        condition("p73-liver", subj, icd("C78.7"), onset="2021-06-06"),
    ]
    return {f"p{n:03}-transaction-urn-ids.json": bundle("transaction", resources, urns={0: pid})}, outcome(
        nhs, "Transaction: the Patient has an id but subjects point at its urn:uuid fullUrl: liver recurrence.",
        recurrence=True, types=["distant"], metastatic=True, sites=["liver"], episode="2021-06-06",
    )  # fmt: skip


@scenario
def p74_absolute_url_references() -> tuple[Files, Expected]:
    n, nhs = 74, NUMBERS[74]
    subj = {"reference": "https://fhir.trust.example.nhs.uk/R4/Patient/p74"}
    resources = [
        patient("p74", nhs),
        condition("p74-primary", subj, icd("C50.9"), onset="2023-02-02"),
        condition("p74-brain", subj, icd("C79.3"), onset="2023-03-03"),
    ]
    return {f"p{n:03}-absolute-references.json": bundle("collection", resources)}, outcome(
        nhs, "Subjects as absolute URLs to the Patient (its fullUrl): de novo brain.",
        metastatic=True, de_novo=True, sites=["brain"], episode="2023-03-03",
    )  # fmt: skip


@scenario
def p76_message_bundle() -> tuple[Files, Expected]:
    n, nhs = 76, NUMBERS[76]
    subj = ref("Patient", "p76")
    header = {
        "resourceType": "MessageHeader",
        "id": "p76-header",
        "eventCoding": {
            "system": "https://fhir.nhs.uk/CodeSystem/message-events",
            "code": "cancer-update",
        },
        "source": {"endpoint": "https://trust.example.nhs.uk/mdt"},
        "focus": [ref("Condition", "p76-bone")],
    }
    resources = [
        header,
        patient("p76", nhs),
        *primary_with_remission(n, subj, "2015-03-03", "2016-03-03"),
        condition("p76-bone", subj, icd("C79.5"), onset="2022-07-07"),
    ]
    return {f"p{n:03}-message.json": bundle("message", resources)}, outcome(
        nhs, "A message Bundle led by a MessageHeader: bone recurrence.",
        recurrence=True, types=["distant"], metastatic=True, sites=["bone"], episode="2022-07-07",
    )  # fmt: skip


@scenario
def p77_history_bundle_retraction() -> tuple[Files, Expected]:
    n, nhs = 77, NUMBERS[77]
    subj = ref("Patient", "p77")
    lung = icd("C78.0")
    resources = [
        condition("p77-lung", subj, lung, onset="2021-04-04", verification="entered-in-error", version="3", updated="2021-05-20T12:00:00Z"),
        condition("p77-lung", subj, lung, onset="2021-04-04", version="2", updated="2021-04-10T12:00:00Z"),
        condition("p77-lung", subj, lung, onset="2021-04-04", verification="provisional", version="1", updated="2021-04-05T12:00:00Z"),
    ]  # fmt: skip
    return {
        f"p{n:03}-a-history.json": bundle("history", resources),
        f"p{n:03}-b-record.json": bundle("collection", [
            patient("p77", nhs), *primary_with_remission(n, subj, "2015-01-01", "2015-11-11"),
        ]),
    }, outcome(
        nhs, "History Bundle, newest-first: provisional -> confirmed -> entered-in-error. The latest version wins (rule 1): nothing.",
    )  # fmt: skip


@scenario
def p79_same_side_after_remission_without_status() -> tuple[Files, Expected]:
    n, nhs = 79, NUMBERS[79]
    subj = ref("Patient", "p79")
    resources = [
        patient("p79", nhs),
        *primary_with_remission(n, subj, "2013-03-03", "2014-03-03", side=RIGHT),
        condition("p79-right-again", subj, icd("C50.4"), onset="2020-10-10", body_site=RIGHT),
    ]
    return {f"p{n:03}-same-side-active.json": bundle("collection", resources)}, outcome(
        nhs, "Same-side breast cancer, status active, after documented remission: 'or follows documented remission (local)' (rule 8).",
        recurrence=True, types=["local"], episode="2020-10-10",
    )  # fmt: skip


@scenario
def p80_same_side_duplicate_within_90_days() -> tuple[Files, Expected]:
    n, nhs = 80, NUMBERS[80]
    subj = ref("Patient", "p80")
    resources = [
        patient("p80", nhs),
        condition("p80-primary", subj, icd("C50.4"), onset="2022-01-10", body_site=LEFT),
        condition("p80-mdt-copy", subj, snomed(*BREAST_SCT), onset="2022-02-14", body_site=LEFT),
    ]
    return {f"p{n:03}-same-side-copy.json": bundle("collection", resources)}, outcome(
        nhs, "A second record of the same-side primary 35 days later (another sender): rule 8 needs 'more than 90 days': no recurrence.",
    )  # fmt: skip


@scenario
def p83_nhs_number_with_spaces() -> tuple[Files, Expected]:
    n, nhs = 83, NUMBERS[83]
    spaced = f"{nhs[:3]} {nhs[3:6]} {nhs[6:]}"
    subj = ref("Patient", "p83")
    resources = [
        patient("p83", spaced),
        condition("p83-primary", subj, icd("C50.9"), onset="2023-02-02"),
        condition("p83-lung", subj, icd("C78.0"), onset="2023-02-20"),
    ]
    return {f"p{n:03}-spaced-nhs-number.json": bundle("collection", resources)}, outcome(
        nhs, "NHS number sent as '999 000 1234': the same patient, key in 10 digits: de novo lung.",
        metastatic=True, de_novo=True, sites=["lung"], episode="2023-02-20",
    )  # fmt: skip


@scenario
def p85_document_bundle() -> tuple[Files, Expected]:
    n, nhs = 85, NUMBERS[85]
    subj = ref("Patient", "p85")
    composition = {
        "resourceType": "Composition",
        "id": "p85-mdt-outcome",
        "status": "final",
        "type": concept(coding(SCT, "371531000", "Report of clinical encounter")),
        "subject": subj,
        "date": "2021-09-30",
        "author": [{"display": "Breast MDT"}],
        "title": "Breast MDT outcome",
    }
    resources = [
        composition,
        patient("p85", nhs),
        *primary_with_remission(n, subj, "2015-03-03", "2016-03-03"),
        condition("p85-marrow", subj, snomed("94217008"), onset="2021-09-21"),
        condition("p85-bone", subj, snomed("94222008"), onset="2021-09-21"),
    ]
    return {f"p{n:03}-document.json": bundle("document", resources)}, outcome(
        nhs, "Document Bundle (Composition first): bone and bone marrow, two sites (rule 5).",
        recurrence=True, types=["distant"], metastatic=True, sites=["bone", "bone_marrow"], episode="2021-09-21",
    )  # fmt: skip


@scenario
def p86_m1_effective_period() -> tuple[Files, Expected]:
    n, nhs = 86, NUMBERS[86]
    subj = ref("Patient", "p86")
    resources = [
        patient("p86", nhs),
        condition("p86-primary", subj, icd("C50.9"), onset="2022-10-10"),
        observation("p86-m", subj, M_PATH_SCT, PM1, "2022-11-11", period=True),
    ]
    return {f"p{n:03}-m1-period.json": bundle("collection", resources)}, outcome(
        nhs, "pM1 (SNOMED 371497001) dated by effectivePeriod.start: de novo, site unknown.",
        metastatic=True, de_novo=True, sites=["unknown"], episode="2022-11-11",
    )  # fmt: skip


@scenario
def p90_remission_after_the_metastasis() -> tuple[Files, Expected]:
    n, nhs = 90, NUMBERS[90]
    subj = ref("Patient", "p90")
    resources = [
        patient("p90", nhs),
        condition("p90-bone", subj, icd("C79.5"), onset="2017-06-06"),
        *primary_with_remission(n, subj, "2015-06-06", "2019-06-06"),
    ]
    return {f"p{n:03}-remission-after-mets.json": bundle("collection", resources)}, outcome(
        nhs, "Bone two years after diagnosis, remission documented only later: the secondary follows no disease-free evidence, "
        "so progression (rule 8): metastatic, not recurrence.",
        metastatic=True, sites=["bone"], episode="2017-06-06",
    )  # fmt: skip


@scenario
def p91_intra_abdominal_nodes_de_novo() -> tuple[Files, Expected]:
    n, nhs = 91, NUMBERS[91]
    subj = ref("Patient", "p91")
    resources = [
        patient("p91", nhs),
        condition("p91-primary", subj, icd("C50"), onset="2023-05-05"),
        condition("p91-nodes", subj, icd("C77.2"), onset="2023-05-25"),
    ]
    return {f"p{n:03}-abdominal-nodes.json": bundle("collection", resources)}, outcome(
        nhs, "Three-character C50 primary; C77.2 intra-abdominal nodes -> distant_lymph_nodes (rule 5): de novo.",
        metastatic=True, de_novo=True, sites=["distant_lymph_nodes"], episode="2023-05-25",
    )  # fmt: skip


@scenario
def p92_second_transaction_without_ids() -> tuple[Files, Expected]:
    n, nhs = 92, NUMBERS[92]
    pid, prim = "5d1f0c2a-0092-4e7b-9a11-000000000001", "5d1f0c2a-0092-4e7b-9a11-000000000002"
    subj = {"reference": f"urn:uuid:{pid}"}
    resources = [
        patient(None, nhs),
        condition(None, subj, icd("C50.9"), onset="2023-09-09"),
        condition(None, subj, icd("C78.0"), onset="2023-10-01"),
    ]
    return {f"p{n:03}-transaction-no-ids.json": bundle("transaction", resources, urns={0: pid, 1: prim, 2: "5d1f0c2a-0092-4e7b-9a11-000000000003"})}, outcome(
        nhs, "A second POST transaction without resource ids (a different patient from p02): de novo lung. Must not merge with p02.",
        metastatic=True, de_novo=True, sites=["lung"], episode="2023-10-01",
    )  # fmt: skip


# --- writer ------------------------------------------------------------------------------------


def write(root: Path = HERE) -> None:
    """Writes root/scenarios/ (replacing it) and root/expected.jsonl."""
    scenarios = root / "scenarios"
    if scenarios.exists():
        shutil.rmtree(scenarios)
    scenarios.mkdir(parents=True)
    expected_lines = []
    for build in SCENARIO_BUILDERS:
        files, expected = build()
        expected["scenario"] = build.__name__
        for name, content in files.items():
            path = scenarios / name
            if name.endswith(".ndjson"):
                path.write_text("".join(json.dumps(r) + "\n" for r in content))
            else:
                path.write_text(json.dumps(content, indent=2) + "\n")
        expected_lines.append(json.dumps(expected))
    (root / "expected.jsonl").write_text("\n".join(expected_lines) + "\n")


if __name__ == "__main__":
    write()
