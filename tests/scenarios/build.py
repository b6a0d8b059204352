"""Writes the labelled scenario set: one folder per patient under `patients/` (FHIR JSON files,
Bundles or NDJSON, deliberately in varied orders) and `expected.jsonl` with each patient's truth.

Run `python -m tests.scenarios.build` after changing a scenario; the output is committed.
"""

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from shared.nhs_number import NHS_NUMBER_SYSTEM, ODS_SYSTEM, check_digit

HERE = Path(__file__).parent
SCT = "http://snomed.info/sct"
ICD = "http://hl7.org/fhir/sid/icd-10"
ICD_CM = "http://hl7.org/fhir/sid/icd-10-cm"
LOINC = "http://loinc.org"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
RELATED = "http://hl7.org/fhir/StructureDefinition/condition-related"
LEFT, RIGHT = "80248007", "73056007"
Resource = dict[str, Any]


def nhs_number(seed: int) -> str:
    n = 943_000_000 + seed * 7
    while True:
        nine = f"{n:09d}"
        digit = check_digit(nine)
        if digit is not None:
            return f"{nine}{digit}"
        n += 1


class Case:
    def __init__(self, number: int) -> None:
        self.number = number
        self.nhs = nhs_number(number)
        self.pid = f"pat-{number}"
        self.resources: list[Resource] = []

    def patient(self, pid: str | None = None, trust: str = "RX1", nhs: bool = True) -> "Case":
        identifier = [{"system": NHS_NUMBER_SYSTEM, "value": self.nhs}] if nhs else []
        self.resources.append(
            {
                "resourceType": "Patient",
                "id": pid or self.pid,
                "meta": {"versionId": "1", "lastUpdated": "2015-01-01T09:00:00Z"},
                "identifier": identifier,
                "name": [{"family": f"Scenario{self.number}", "given": ["Test"]}],
                "birthDate": "1960-05-17",
                "generalPractitioner": [{"identifier": {"system": ODS_SYSTEM, "value": "A81001"}}],
                "managingOrganization": {"identifier": {"system": ODS_SYSTEM, "value": trust}},
            }
        )
        return self

    def condition(
        self,
        cid: str,
        code: tuple[str, str],
        onset: str | None,
        *,
        clinical: str | None = "active",
        verification: str = "confirmed",
        version: int = 1,
        updated: str | None = None,
        body_site: str | None = None,
        related: str | None = None,
        abatement: str | None = None,
        recorded: str | None = None,
        pid: str | None = None,
        subject_identifier: bool = False,
        onset_period: bool = False,
    ) -> "Case":
        resource: Resource = {
            "resourceType": "Condition",
            "id": f"{cid}-{self.number}",
            "meta": {
                "versionId": str(version),
                "lastUpdated": updated or f"{(onset or recorded or '2020-01-01')[:10]}T12:00:00Z",
            },
            "verificationStatus": {"coding": [{"system": VERIFICATION, "code": verification}]},
            "code": {"coding": [{"system": code[0], "code": code[1]}]},
            "subject": {"reference": f"Patient/{pid or self.pid}"},
        }
        if clinical:
            resource["clinicalStatus"] = {"coding": [{"system": CLINICAL, "code": clinical}]}
        if subject_identifier:
            resource["subject"]["identifier"] = {"system": NHS_NUMBER_SYSTEM, "value": self.nhs}
        if onset and onset_period:
            resource["onsetPeriod"] = {"start": onset}
        elif onset:
            resource["onsetDateTime"] = onset
        if recorded:
            resource["recordedDate"] = recorded
        if body_site:
            resource["bodySite"] = [{"coding": [{"system": SCT, "code": body_site}]}]
        if related:
            resource["extension"] = [
                {
                    "url": RELATED,
                    "valueReference": {"reference": f"Condition/{related}-{self.number}"},
                }
            ]
        if abatement:
            resource["abatementDateTime"] = abatement
        self.resources.append(resource)
        return self

    def observation(
        self,
        oid: str,
        code: tuple[str, str],
        value: str,
        effective: str,
        *,
        status: str = "final",
        version: int = 1,
    ) -> "Case":
        self.resources.append(
            {
                "resourceType": "Observation",
                "id": f"{oid}-{self.number}",
                "meta": {"versionId": str(version), "lastUpdated": f"{effective}T15:00:00Z"},
                "status": status,
                "code": {"coding": [{"system": code[0], "code": code[1]}]},
                "subject": {"reference": f"Patient/{self.pid}"},
                "effectiveDateTime": effective,
                "valueCodeableConcept": {"coding": [{"system": SCT, "code": value}]},
            }
        )
        return self

    # the usual opening: a left breast primary in 2018, in remission from 2019
    def primary(self, onset: str = "2018-03-10", side: str | None = LEFT, **kw: Any) -> "Case":
        return self.condition("primary", (ICD, "C50.4"), onset, body_site=side, **kw)

    def remitted_primary(self, onset: str = "2018-03-10", side: str | None = LEFT) -> "Case":
        self.primary(onset, side, version=1, updated=f"{onset}T10:00:00Z")
        return self.primary(
            onset,
            side,
            clinical="remission",
            version=2,
            updated="2019-02-01T10:00:00Z",
            abatement="2019-01-15",
        )


DISEASE_STATUS = (LOINC, "97509-4")
CLINICAL_M = (SCT, "399387003")
Expected = dict[str, Any]


def truth(
    primary: bool = True,
    recurrence: bool = False,
    types: list[str] | None = None,
    metastatic: bool = False,
    de_novo: bool = False,
    sites: list[str] | None = None,
    date: str | None = None,
) -> Expected:
    return {
        "breast_primary": primary,
        "recurrence": recurrence,
        "recurrence_types": sorted(types or []),
        "metastatic": metastatic,
        "de_novo_metastatic": de_novo,
        "metastatic_sites": sorted(sites or []),
        "episode_date": date,
    }


def distant(sites: list[str], date: str) -> Expected:
    return truth(recurrence=True, types=["distant"], metastatic=True, sites=sites, date=date)


SCENARIOS: list[tuple[str, Callable[[Case], Case], Expected]] = [
    (
        "bone-after-remission",
        lambda c: c.patient().remitted_primary().condition("met", (ICD, "C79.5"), "2021-04-02"),
        distant(["bone"], "2021-04-02"),
    ),
    (
        "liver-after-not-detected-status",
        lambda c: (
            c.patient()
            .primary()
            .observation("status", DISEASE_STATUS, "260415000", "2019-06-01")
            .condition("met", (SCT, "94381002"), "2022-02-11")
        ),
        distant(["liver"], "2022-02-11"),
    ),
    (
        "lung-undotted-icd10",
        lambda c: c.patient().remitted_primary().condition("met", (ICD, "C780"), "2020-11-20"),
        distant(["lung"], "2020-11-20"),
    ),
    (
        "brain-snomed",
        lambda c: c.patient().remitted_primary().condition("met", (SCT, "94225005"), "2023-01-05"),
        distant(["brain"], "2023-01-05"),
    ),
    (
        "bone-icd10-cm-variant",
        lambda c: c.patient().remitted_primary().condition("met", (ICD_CM, "C79.51"), "2021-09-09"),
        distant(["bone"], "2021-09-09"),
    ),
    (
        "bare-secondary-with-bone-marrow-site",
        lambda c: (
            c.patient()
            .remitted_primary()
            .condition("met", (SCT, "128462008"), "2021-03-03", body_site="14016003")
        ),
        distant(["bone_marrow"], "2021-03-03"),
    ),
    (
        "bare-secondary-with-axillary-site",
        lambda c: (
            c.patient()
            .remitted_primary()
            .condition("met", (SCT, "128462008"), "2021-05-05", body_site="68171009")
        ),
        truth(
            recurrence=True, types=["regional"], sites=["regional_lymph_nodes"], date="2021-05-05"
        ),
    ),
    (
        "axillary-nodes-after-remission",
        lambda c: c.patient().remitted_primary().condition("nodes", (ICD, "C77.3"), "2020-08-08"),
        truth(
            recurrence=True, types=["regional"], sites=["regional_lymph_nodes"], date="2020-08-08"
        ),
    ),
    (
        "m1-observation-after-remission",
        lambda c: (
            c.patient().remitted_primary().observation("m", CLINICAL_M, "1229903009", "2021-07-07")
        ),
        distant(["unknown"], "2021-07-07"),
    ),
    (
        "distant-metastasis-finding-after-remission",
        lambda c: c.patient().remitted_primary().condition("met", (SCT, "399409002"), "2022-06-06"),
        distant(["unknown"], "2022-06-06"),
    ),
    (
        "skin-secondary",
        lambda c: c.patient().remitted_primary().condition("met", (SCT, "94579000"), "2021-02-02"),
        distant(["skin"], "2021-02-02"),
    ),
    (
        "pleura-is-other",
        lambda c: c.patient().remitted_primary().condition("met", (ICD, "C78.2"), "2021-12-12"),
        distant(["other"], "2021-12-12"),
    ),
    (
        "inguinal-nodes-are-distant",
        lambda c: c.patient().remitted_primary().condition("met", (ICD, "C77.4"), "2020-10-10"),
        distant(["distant_lymph_nodes"], "2020-10-10"),
    ),
    (
        "bone-and-liver-together",
        lambda c: (
            c.patient()
            .remitted_primary()
            .condition("bone", (ICD, "C79.5"), "2021-04-02")
            .condition("liver", (ICD, "C78.7"), "2021-04-20")
        ),
        distant(["bone", "liver"], "2021-04-02"),
    ),
    (
        "status-flip-only",
        lambda c: (
            c.patient()
            .primary(version=1, updated="2018-03-10T10:00:00Z")
            .primary(clinical="recurrence", version=2, updated="2021-05-14T10:00:00Z")
        ),
        truth(recurrence=True, date="2021-05-14"),
    ),
    (
        "status-flip-with-bone",
        lambda c: (
            c.patient()
            .primary(version=1, updated="2018-03-10T10:00:00Z")
            .primary(clinical="recurrence", version=2, updated="2021-05-20T10:00:00Z")
            .condition("met", (ICD, "C79.5"), "2021-05-10")
        ),
        distant(["bone"], "2021-05-10"),
    ),
    (
        "relapse-status-flip",
        lambda c: (
            c.patient()
            .primary(version=1, updated="2018-03-10T10:00:00Z")
            .primary(clinical="relapse", version=2, updated="2022-02-02T10:00:00Z")
        ),
        truth(recurrence=True, date="2022-02-02"),
    ),
    (
        "local-recurrence-same-side",
        lambda c: (
            c.patient()
            .primary()
            .condition("local", (ICD, "C50.4"), "2021-01-12", clinical="recurrence", body_site=LEFT)
        ),
        truth(recurrence=True, types=["local"], date="2021-01-12"),
    ),
    (
        "local-after-remission-same-side",
        lambda c: (
            c.patient()
            .remitted_primary()
            .condition("local", (SCT, "372137005"), "2021-06-12", body_site=LEFT)
        ),
        truth(recurrence=True, types=["local"], date="2021-06-12"),
    ),
    (
        "local-and-regional",
        lambda c: (
            c.patient()
            .remitted_primary()
            .condition("local", (ICD, "C50.2"), "2021-06-12", body_site=LEFT)
            .condition("nodes", (ICD, "C77.3"), "2021-06-20")
        ),
        truth(
            recurrence=True,
            types=["local", "regional"],
            sites=["regional_lymph_nodes"],
            date="2021-06-12",
        ),
    ),
    (
        "secondary-with-recurrence-status",
        lambda c: (
            c.patient()
            .primary()
            .condition("met", (ICD, "C79.3"), "2022-03-03", clinical="recurrence")
        ),
        distant(["brain"], "2022-03-03"),
    ),
    (
        "de-novo-bone",
        lambda c: c.patient().primary("2020-02-01").condition("met", (ICD, "C79.5"), "2020-03-01"),
        truth(metastatic=True, de_novo=True, sites=["bone"], date="2020-03-01"),
    ),
    (
        "de-novo-liver-before-diagnosis",
        lambda c: (
            c.patient().primary("2020-02-01").condition("met", (SCT, "94381002"), "2020-01-12")
        ),
        truth(metastatic=True, de_novo=True, sites=["liver"], date="2020-01-12"),
    ),
    (
        "de-novo-with-nodes-at-diagnosis",
        lambda c: (
            c.patient()
            .primary("2020-02-01")
            .condition("nodes", (ICD, "C77.3"), "2020-02-01")
            .condition("met", (ICD, "C79.5"), "2020-02-20")
        ),
        truth(metastatic=True, de_novo=True, sites=["bone"], date="2020-02-20"),
    ),
    (
        "de-novo-m1-at-diagnosis",
        lambda c: (
            c.patient()
            .primary("2020-02-01")
            .observation("m", (LOINC, "21907-1"), "1229903009", "2020-02-05")
        ),
        truth(metastatic=True, de_novo=True, sites=["unknown"], date="2020-02-05"),
    ),
    (
        "progression-without-remission",
        lambda c: c.patient().primary("2019-01-01").condition("met", (ICD, "C795"), "2021-01-01"),
        truth(metastatic=True, sites=["bone"], date="2021-01-01"),
    ),
    (
        "de-novo-then-new-site",
        lambda c: (
            c.patient()
            .primary("2020-02-01")
            .condition("bone", (ICD, "C79.5"), "2020-02-10")
            .condition("liver", (ICD, "C78.7"), "2021-03-10")
        ),
        truth(metastatic=True, de_novo=True, sites=["bone", "liver"], date="2020-02-10"),
    ),
    (
        "contralateral-new-primary",
        lambda c: (
            c.patient()
            .remitted_primary()
            .condition("second", (ICD, "C50.4"), "2021-06-01", body_site=RIGHT)
        ),
        truth(),
    ),
    (
        "lung-primary-brain-metastases",
        lambda c: (
            c.patient()
            .condition("lung", (SCT, "93880001"), "2020-01-01")
            .condition("met", (ICD, "C79.3"), "2020-06-01")
        ),
        truth(primary=False),
    ),
    (
        "brain-metastases-related-to-lung-primary",
        lambda c: (
            c.patient()
            .remitted_primary()
            .condition("lung", (ICD, "C34.1"), "2021-01-01")
            .condition("met", (ICD, "C79.3"), "2021-03-01", related="lung")
        ),
        truth(),
    ),
    (
        "dcis-only",
        lambda c: (
            c.patient()
            .condition("dcis", (ICD, "D05.1"), "2019-01-01")
            .condition("dcis2", (ICD, "D05.1"), "2021-01-01", clinical="recurrence")
        ),
        truth(primary=False),
    ),
    (
        "dcis-with-bone-secondary",
        lambda c: (
            c.patient()
            .condition("dcis", (SCT, "109889007"), "2019-01-01")
            .condition("met", (ICD, "C79.5"), "2021-01-01")
        ),
        truth(primary=False),
    ),
    (
        "nodes-at-diagnosis",
        lambda c: (
            c.patient().primary("2020-02-01").condition("nodes", (ICD, "C77.3"), "2020-02-15")
        ),
        truth(),
    ),
    (
        "history-of-breast-cancer-only",
        lambda c: (
            c.patient()
            .condition("hx", (ICD, "Z85.3"), "2015-01-01")
            .condition("met", (ICD, "C79.5"), "2021-01-01")
        ),
        truth(primary=False),
    ),
    (
        "unknown-primary",
        lambda c: (
            c.patient()
            .condition("cup", (ICD, "C80.9"), "2021-01-01")
            .condition("met", (ICD, "C79.5"), "2021-01-01")
        ),
        truth(primary=False),
    ),
    (
        "secondary-entered-in-error",
        lambda c: (
            c.patient()
            .remitted_primary()
            .condition("met", (ICD, "C79.5"), "2021-04-02")
            .condition(
                "met",
                (ICD, "C79.5"),
                "2021-04-02",
                verification="entered-in-error",
                version=2,
                updated="2021-04-10T10:00:00Z",
            )
        ),
        truth(),
    ),
    (
        "secondary-refuted",
        lambda c: (
            c.patient()
            .remitted_primary()
            .condition("met", (ICD, "C78.7"), "2021-04-02", verification="refuted")
        ),
        truth(),
    ),
    (
        "secondary-provisional",
        lambda c: (
            c.patient()
            .remitted_primary()
            .condition("met", (ICD, "C78.7"), "2021-04-02", verification="provisional")
        ),
        truth(),
    ),
    (
        "secondary-differential",
        lambda c: (
            c.patient()
            .remitted_primary()
            .condition("met", (ICD, "C79.5"), "2021-04-02", verification="differential")
        ),
        truth(),
    ),
    (
        "m0-is-not-metastatic",
        lambda c: (
            c.patient()
            .primary("2020-02-01")
            .observation("m", CLINICAL_M, "1229901006", "2020-02-10")
        ),
        truth(),
    ),
    (
        "worsened-alone-sets-nothing",
        lambda c: (
            c.patient()
            .primary("2019-01-01")
            .observation("status", DISEASE_STATUS, "271299001", "2021-01-01")
        ),
        truth(),
    ),
    (
        "m1-entered-in-error",
        lambda c: (
            c.patient()
            .remitted_primary()
            .observation("m", CLINICAL_M, "1229903009", "2021-07-07", status="entered-in-error")
        ),
        truth(),
    ),
    (
        "benign-breast-disease",
        lambda c: (
            c.patient()
            .condition("benign", (ICD, "N60.1"), "2020-01-01")
            .condition("met", (ICD, "C79.5"), "2021-01-01")
        ),
        truth(primary=False),
    ),
    ("primary-only", lambda c: c.patient().primary(), truth()),
    ("primary-in-remission-only", lambda c: c.patient().remitted_primary(), truth()),
    (
        "newest-version-entered-in-error-first",
        lambda c: (
            c.patient()
            .remitted_primary()
            .condition(
                "met",
                (ICD, "C79.5"),
                "2021-04-02",
                verification="entered-in-error",
                version=2,
                updated="2021-04-10T10:00:00Z",
            )
            .condition("met", (ICD, "C79.5"), "2021-04-02")
        ),
        truth(),
    ),
    (
        "versions-newest-first-flip",
        lambda c: (
            c.patient()
            .primary(clinical="recurrence", version=3, updated="2022-04-04T10:00:00Z")
            .primary(clinical="remission", version=2, updated="2019-02-01T10:00:00Z")
            .primary(version=1, updated="2018-03-10T10:00:00Z")
        ),
        truth(recurrence=True, date="2022-04-04"),
    ),
    (
        "site-corrected-liver-to-bone",
        lambda c: (
            c.patient()
            .remitted_primary()
            .condition(
                "met", (ICD, "C79.5"), "2021-04-02", version=2, updated="2021-05-01T10:00:00Z"
            )
            .condition("met", (ICD, "C78.7"), "2021-04-02", version=1)
        ),
        distant(["bone"], "2021-04-02"),
    ),
    (
        "provisional-then-confirmed-arriving-newest-first",
        lambda c: (
            c.patient()
            .remitted_primary()
            .condition(
                "met", (ICD, "C78.7"), "2021-04-02", version=2, updated="2021-04-20T10:00:00Z"
            )
            .condition("met", (ICD, "C78.7"), "2021-04-02", verification="provisional", version=1)
        ),
        distant(["liver"], "2021-04-02"),
    ),
    (
        "secondary-before-primary-in-file-order",
        lambda c: c.patient().condition("met", (ICD, "C78.7"), "2022-01-01").remitted_primary(),
        distant(["liver"], "2022-01-01"),
    ),
    (
        "same-nhs-number-two-trusts",
        lambda c: (
            c.patient(None, "RX1")
            .patient("trust-b", "RY2")
            .remitted_primary()
            .condition("met", (ICD, "C79.5"), "2021-08-08", pid="trust-b")
        ),
        distant(["bone"], "2021-08-08"),
    ),
    (
        "subject-identifier-without-patient",
        lambda c: (
            c.condition(
                "primary", (ICD, "C50.9"), "2018-01-01", subject_identifier=True, pid="nowhere"
            )
            .condition(
                "primary",
                (ICD, "C50.9"),
                "2018-01-01",
                clinical="resolved",
                version=2,
                updated="2019-01-01T10:00:00Z",
                subject_identifier=True,
                pid="nowhere",
            )
            .condition("met", (ICD, "C79.5"), "2020-05-05", subject_identifier=True, pid="nowhere")
        ),
        distant(["bone"], "2020-05-05"),
    ),
    (
        "no-nhs-number",
        lambda c: (
            c.patient(nhs=False).remitted_primary().condition("met", (ICD, "C79.3"), "2021-08-08")
        ),
        distant(["brain"], "2021-08-08"),
    ),
    (
        "two-episodes-bone-then-liver",
        lambda c: (
            c.patient()
            .remitted_primary()
            .condition("bone", (ICD, "C79.5"), "2020-04-02")
            .condition(
                "bone",
                (ICD, "C79.5"),
                "2020-04-02",
                clinical="remission",
                version=2,
                updated="2021-02-01T10:00:00Z",
                abatement="2021-01-20",
            )
            .condition("liver", (ICD, "C78.7"), "2022-09-01")
        ),
        distant(["bone", "liver"], "2022-09-01"),
    ),
    (
        "new-site-same-episode",
        lambda c: (
            c.patient()
            .remitted_primary()
            .condition("bone", (ICD, "C79.5"), "2020-04-02")
            .condition("lung", (ICD, "C78.0"), "2020-10-02")
        ),
        distant(["bone", "lung"], "2020-04-02"),
    ),
    (
        "de-novo-then-remission-then-liver",
        lambda c: (
            c.patient()
            .primary("2020-02-01")
            .condition("bone", (ICD, "C79.5"), "2020-02-10")
            .observation("status", DISEASE_STATUS, "550991000124107", "2021-01-10")
            .condition("liver", (ICD, "C78.7"), "2022-03-10")
        ),
        truth(
            recurrence=True,
            types=["distant"],
            metastatic=True,
            de_novo=True,
            sites=["bone", "liver"],
            date="2022-03-10",
        ),
    ),
    (
        "partial-onset-date",
        lambda c: c.patient().remitted_primary().condition("met", (ICD, "C79.3"), "2021-06"),
        distant(["brain"], "2021-06-01"),
    ),
    (
        "recorded-date-only",
        lambda c: (
            c.patient()
            .remitted_primary()
            .condition("met", (ICD, "C78.7"), None, recorded="2021-07-21")
        ),
        distant(["liver"], "2021-07-21"),
    ),
    (
        "onset-period",
        lambda c: (
            c.patient()
            .remitted_primary()
            .condition("met", (ICD, "C78.0"), "2021-03-15", onset_period=True)
        ),
        distant(["lung"], "2021-03-15"),
    ),
    (
        "secondary-related-to-breast-primary",
        lambda c: (
            c.patient()
            .remitted_primary()
            .condition("met", (SCT, "94222008"), "2021-03-15", related="primary")
        ),
        distant(["bone"], "2021-03-15"),
    ),
    (
        "contralateral-snomed-primary",
        lambda c: (
            c.patient()
            .condition("primary", (SCT, "372137005"), "2018-01-01", body_site=RIGHT)
            .condition(
                "second", (SCT, "254837009"), "2021-01-01", body_site=LEFT, clinical="active"
            )
        ),
        truth(),
    ),
    (
        "bone-marrow-icd10-cm",
        lambda c: c.patient().remitted_primary().condition("met", (ICD_CM, "C79.52"), "2021-03-15"),
        distant(["bone_marrow"], "2021-03-15"),
    ),
    (
        "bone-marrow-snomed",
        lambda c: c.patient().remitted_primary().condition("met", (SCT, "94217008"), "2021-03-15"),
        distant(["bone_marrow"], "2021-03-15"),
    ),
    (
        "adrenal-is-other",
        lambda c: c.patient().remitted_primary().condition("met", (SCT, "94161006"), "2021-03-15"),
        distant(["other"], "2021-03-15"),
    ),
    (
        "regional-nodes-later-without-remission",
        lambda c: (
            c.patient().primary("2019-01-01").condition("nodes", (ICD, "C77.3"), "2020-06-01")
        ),
        truth(),
    ),
    (
        "de-novo-distant-nodes",
        lambda c: (
            c.patient().primary("2020-02-01").condition("nodes", (ICD, "C77.2"), "2020-02-11")
        ),
        truth(metastatic=True, de_novo=True, sites=["distant_lymph_nodes"], date="2020-02-11"),
    ),
    (
        "status-flip-after-de-novo",
        lambda c: (
            c.patient()
            .primary("2020-02-01", version=1, updated="2020-02-01T10:00:00Z")
            .condition("bone", (ICD, "C79.5"), "2020-02-10")
            .primary("2020-02-01", clinical="recurrence", version=2, updated="2022-06-01T10:00:00Z")
        ),
        truth(recurrence=True, metastatic=True, de_novo=True, sites=["bone"], date="2022-06-01"),
    ),
    (
        "brain-pm1-after-remission",
        lambda c: (
            c.patient()
            .remitted_primary()
            .observation("m", (SCT, "371497001"), "1229916009", "2022-02-22")
            .condition("met", (SCT, "94225005"), "2022-03-01")
        ),
        distant(["brain"], "2022-02-22"),
    ),
]

LAYOUTS = ("transaction", "collection", "ndjson", "files-reversed", "ndjson-reversed")


def write_case(folder: Path, case: Case, layout: str) -> None:
    folder.mkdir(parents=True)
    resources = case.resources
    if layout in ("transaction", "collection"):
        urls = {
            f"{r['resourceType']}/{r['id']}": f"urn:uuid:{case.number:04d}-{i}"
            for i, r in enumerate(resources)
        }
        entries = []
        for resource in resources:
            subject = resource.get("subject")
            if layout == "transaction" and subject and subject["reference"] in urls:
                resource = {
                    **resource,
                    "subject": {**subject, "reference": urls[subject["reference"]]},
                }
            entry: Resource = {
                "fullUrl": urls[f"{resource['resourceType']}/{resource['id']}"],
                "resource": resource,
            }
            if layout == "transaction":
                entry["request"] = {
                    "method": "PUT",
                    "url": f"{resource['resourceType']}/{resource['id']}",
                }
            entries.append(entry)
        bundle = {"resourceType": "Bundle", "type": layout, "entry": entries}
        (folder / "bundle.json").write_text(json.dumps(bundle, indent=1))
    elif layout.startswith("ndjson"):
        rows = resources[::-1] if layout.endswith("reversed") else resources
        (folder / "resources.ndjson").write_text("".join(json.dumps(r) + "\n" for r in rows))
    else:
        for i, resource in enumerate(resources[::-1]):
            (folder / f"{i:02d}-{resource['resourceType'].lower()}.json").write_text(
                json.dumps(resource, indent=1)
            )


def patient_key(case: Case, name: str) -> str:
    if name == "no-nhs-number":
        return f"Patient/{case.pid}"
    return case.nhs


def main() -> None:
    target = HERE / "patients"
    shutil.rmtree(target, ignore_errors=True)
    expected = []
    for number, (name, build, outcome) in enumerate(SCENARIOS, start=1):
        case = build(Case(number))
        write_case(target / f"{number:03d}-{name}", case, LAYOUTS[number % len(LAYOUTS)])
        expected.append({"scenario": name, "patient": patient_key(case, name), **outcome})
    (HERE / "expected.jsonl").write_text("".join(json.dumps(e) + "\n" for e in expected))
    print(f"{len(expected)} scenarios written to {target}")


if __name__ == "__main__":
    main()
