"""Invalid messages a real feed contains, each built to fail in exactly the stated way."""

import random
from datetime import datetime, timedelta

import orjson

from services.demo import cohort_hl7 as hl7
from services.demo.cohort_feed import FHIR_JSON, HL7_V2, Draft, PatientFeed
from services.demo.cohort_model import PatientVersion, resource_type
from shared.events import stable_id
from shared.nhs_number import check_digit

REJECTION_REASONS = (
    "malformed-json",
    "unknown-element",
    "invalid-nhs-number",
    "missing-subject",
    "invalid-date",
    "invalid-hl7",
)
INVALID_SHARE = 0.03  # of valid deliveries
UNKNOWN_ELEMENTS = ("diagnosisDate", "patientName", "severityScore", "notes")
BAD_DATES = ("2024-13-45", "31/12/2024", "2023-02-30T25:00:00Z", "yesterday")


def wrong_nhs_number(nhs_number: str, rng: random.Random) -> str:
    """The same first nine digits with a check digit that fails modulus 11."""
    right = check_digit(nhs_number[:9])
    wrong = ((right or 0) + rng.randint(1, 9)) % 10
    return nhs_number[:9] + str(wrong)


class InvalidMessages:
    def __init__(self, seed: int, rng: random.Random, feeds: list[PatientFeed]) -> None:
        self.seed, self.rng, self.feeds = seed, rng, feeds
        self._serial = 0

    def drafts(self, count: int, start: datetime, end: datetime) -> list[Draft]:
        reasons = [REJECTION_REASONS[i % len(REJECTION_REASONS)] for i in range(count)]
        self.rng.shuffle(reasons)
        span = max(1, int((end - start).total_seconds()))
        drafts = []
        for reason in reasons:
            draft = getattr(self, reason.replace("-", "_"))(self.rng.choice(self.feeds))
            draft.sent_at = start + timedelta(seconds=self.rng.randint(0, span))
            draft.expect, draft.reason = "rejected", reason
            drafts.append(draft)
        return drafts

    def fresh_id(self) -> str:
        self._serial += 1
        return stable_id("rmbc-cohort", str(self.seed), "invalid", str(self._serial))

    def clinical_resource(self, feed: PatientFeed) -> dict[str, object]:
        versions = [
            v for m in feed.history.moments for v in m.versions if not isinstance(v, PatientVersion)
        ]
        resource = feed.resource(self.rng.choice(versions), feed.patient_reference())
        resource["id"] = self.fresh_id()
        return resource

    def http(
        self, feed: PatientFeed, body: bytes, method: str, path: str, patient: bool = True
    ) -> Draft:
        draft = Draft(
            sent_at=datetime.min,
            patient_index=feed.profile.index,
            channel="http",
            method="PUT" if method == "PUT" else "POST",
            path=path,
            body=body,
            content_type=FHIR_JSON,
            patient=feed.profile.nhs_number if patient else None,
        )
        return draft

    def put(self, feed: PatientFeed, resource: dict[str, object], patient: bool = True) -> Draft:
        path = f"/fhir/{resource['resourceType']}/{resource['id']}"
        return self.http(feed, orjson.dumps(resource), "PUT", path, patient)

    def malformed_json(self, feed: PatientFeed) -> Draft:
        resource = self.clinical_resource(feed)
        text = orjson.dumps(resource)
        cut = self.rng.randint(len(text) // 3, len(text) - 2)
        return self.http(feed, text[:cut], "POST", f"/fhir/{resource['resourceType']}", False)

    def unknown_element(self, feed: PatientFeed) -> Draft:
        resource = self.clinical_resource(feed)
        resource[self.rng.choice(UNKNOWN_ELEMENTS)] = "see clinic letter"
        return self.put(feed, resource)

    def missing_subject(self, feed: PatientFeed) -> Draft:
        resource = self.clinical_resource(feed)
        del resource["subject"]
        return self.http(feed, orjson.dumps(resource), "POST", f"/fhir/{resource['resourceType']}")

    def invalid_date(self, feed: PatientFeed) -> Draft:
        resource = self.clinical_resource(feed)
        element = (
            "onsetDateTime" if resource["resourceType"] == "Condition" else "effectiveDateTime"
        )
        resource[element] = self.rng.choice(BAD_DATES)
        return self.put(feed, resource)

    def invalid_nhs_number(self, feed: PatientFeed) -> Draft:
        wrong = wrong_nhs_number(feed.profile.nhs_number, self.rng)
        form = self.rng.random()
        if form < 0.4:
            control = "BADNHS" + self.fresh_id().replace("-", "")[:12].upper()
            at = feed.history.moments[-1].at
            body = hl7.adt(feed.profile, "A04", "PAS", at, control, nhs_number=wrong)
            return self.mllp(feed, body, patient=False)
        if form < 0.7:
            version = next(
                v for m in feed.history.moments for v in m.versions if resource_type(v) == "Patient"
            )
            resource = feed.resource(version, feed.patient_reference())
            resource["id"] = self.fresh_id()
            resource["identifier"][0]["value"] = wrong
            return self.put(feed, resource, patient=False)
        resource = self.clinical_resource(feed)
        resource["subject"] = {
            "reference": feed.patient_reference(),
            "identifier": {"system": "https://fhir.nhs.uk/Id/nhs-number", "value": wrong},
        }
        return self.put(feed, resource, patient=False)

    def invalid_hl7(self, feed: PatientFeed) -> Draft:
        form = self.rng.randint(0, 2)
        control = "BAD" + self.fresh_id().replace("-", "")[:12].upper()
        if form == 0:
            body = b"EVN|A04|20240101093000\rPID|1||||NOBODY^KNOWN"
        elif form == 1:
            body = f"MSH|^~\\&|EPR|{feed.profile.trust_ods}|RMBC".encode()
        else:  # a problem message without the patient it is about
            body = hl7.message(
                hl7.msh(
                    feed.profile, "EPR", feed.history.moments[-1].at, "PPR^PC1^PPR_PC1", control
                ),
                "PRB|AD|20240101093000|C79.5^Secondary malignant neoplasm of bone^I10|X1",
            )
        return self.mllp(feed, body, patient=False)

    def mllp(self, feed: PatientFeed, body: bytes, patient: bool) -> Draft:
        return Draft(
            sent_at=datetime.min,
            patient_index=feed.profile.index,
            channel="mllp",
            method="POST",
            path="",
            body=body,
            content_type=HL7_V2,
            patient=feed.profile.nhs_number if patient else None,
        )
