"""No patient identifiers in the logs: a cohort goes through the whole pipeline (valid and invalid
messages, FHIR and HL7 v2), then every service's log is searched for each patient's NHS number,
names and date of birth, in the forms people and programs commonly write them."""

import asyncio
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest

from services.demo.cohort import GP_PRACTICES, TRUSTS, Cohort, generate_cohort
from services.demo.feeder import feed
from services.demo.pipeline import GP_MAILBOXES, Pipeline, directory_document
from shared.admin import group_lag
from shared.nhs_number import NHS_NUMBER_SYSTEM
from shared.settings import KafkaSettings
from shared.topics import TopicNames

PATIENTS = 30
SERVICES = ("ingest", "classifier", "notifier")
CNS_TEAM = "breast-cns@trust.example.nhs.uk"


@dataclass
class Identifiers:
    nhs_numbers: set[str] = field(default_factory=set)
    names: set[str] = field(default_factory=set)
    birth_dates: set[date] = field(default_factory=set)


def identifiers_in(cohort: Cohort) -> Identifiers:
    found = Identifiers()
    for delivery in cohort.deliveries:
        if delivery.patient:
            found.nhs_numbers.add(delivery.patient)
        if delivery.channel == "mllp":
            _from_hl7(delivery.body.decode("utf-8", errors="replace"), found)
        elif delivery.expect == "accepted":  # some invalid ones are not JSON at all
            _from_fhir(orjson.loads(delivery.body), found)
    return found


def _from_fhir(document: dict[str, Any], found: Identifiers) -> None:
    resources = [e.get("resource", {}) for e in document.get("entry", [])] or [document]
    for resource in resources:
        if resource.get("resourceType") != "Patient":
            continue
        for identifier in resource.get("identifier", []):
            if identifier.get("system") == NHS_NUMBER_SYSTEM:
                found.nhs_numbers.add(identifier["value"])
        for name in resource.get("name", []):
            found.names.update([name.get("family", ""), *name.get("given", [])])
        if "birthDate" in resource:
            found.birth_dates.add(date.fromisoformat(resource["birthDate"]))


def _from_hl7(message: str, found: Identifiers) -> None:
    for segment in message.split("\r"):
        fields = segment.split("|")
        if fields[0] != "PID":
            continue
        if len(fields) > 5:
            found.names.update(part for part in fields[5].split("^")[:3] if part)
        if len(fields) > 7 and len(fields[7]) >= 8:
            found.birth_dates.add(
                date(int(fields[7][:4]), int(fields[7][4:6]), int(fields[7][6:8]))
            )


def nhs_number_forms(number: str) -> list[str]:
    spaced = f"{number[:3]} {number[3:6]} {number[6:]}"
    return [number, spaced, spaced.replace(" ", "-")]


def birth_date_forms(day: date) -> list[str]:
    return [
        day.isoformat(), day.strftime("%Y%m%d"), day.strftime("%d/%m/%Y"), day.strftime("%d-%m-%Y"),
        day.strftime("%d.%m.%Y"), day.strftime("%Y/%m/%d"), day.strftime("%m/%d/%Y"),
        day.strftime("%d %b %Y"), day.strftime("%d %B %Y"), day.strftime("%B %d, %Y"),
        f"date({day.year}, {day.month}, {day.day})",
    ]  # fmt: skip


@pytest.fixture(scope="module")
def cohort() -> Cohort:
    return generate_cohort(PATIENTS, seed=11)


@pytest.fixture(scope="module")
def logs_after_the_journey(
    cohort: Cohort, kafka_settings: KafkaSettings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    run = uuid.uuid4().hex[:10]
    directory = directory_document(
        gp_practices={
            ods: GP_MAILBOXES[i % len(GP_MAILBOXES)] for i, ods in enumerate(GP_PRACTICES)
        },
        cns_teams={ods: CNS_TEAM for ods in TRUSTS},
        default_cns=CNS_TEAM,
    )
    work_dir = Path(tmp_path_factory.mktemp("no-identifiers"))
    topics = TopicNames.with_suffix(run)
    with Pipeline(
        work_dir, kafka_settings, topics, directory, app_id=f"rmbc-logs-{run}"
    ) as pipeline:
        answers = asyncio.run(
            feed(cohort.deliveries, ingest_url=pipeline.ingest_url, mllp_port=pipeline.mllp_port,
                 token=pipeline.token, progress=False)
        )  # fmt: skip
        assert len(answers) == len(cohort.deliveries)
        asyncio.run(drained(kafka_settings, pipeline, timeout=90))
    yield {name: (pipeline.logs / f"{name}.log").read_text(errors="replace") for name in SERVICES}


async def drained(kafka: KafkaSettings, pipeline: Pipeline, timeout: float) -> None:
    """Both consumer groups have no lag for two seconds in a row."""
    groups = [
        (pipeline.app_id, pipeline.topics.clinical_events),
        (f"{pipeline.app_id}-notifier", pipeline.topics.cancer_flags),
    ]
    deadline = time.monotonic() + timeout
    quiet_since = None
    while time.monotonic() < deadline:
        lags = [await group_lag(kafka, group, topic) for group, topic in groups]
        if all(lag == 0 for lag in lags):
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since > 2.0:
                return
        else:
            quiet_since = None
        await asyncio.sleep(0.5)
    raise AssertionError(f"the pipeline did not drain within {timeout}s; logs in {pipeline.logs}")


def test_the_journey_produced_logs_from_every_service(
    logs_after_the_journey: dict[str, str],
) -> None:
    for name, text in logs_after_the_journey.items():
        assert len(text.splitlines()) >= 3, f"{name} logged almost nothing"
    assert '"accepted"' in logs_after_the_journey["ingest"]
    assert '"refused"' in logs_after_the_journey["ingest"]  # the invalid share of the cohort


def test_no_nhs_number_of_the_cohort_appears_in_any_log(
    cohort: Cohort, logs_after_the_journey: dict[str, str]
) -> None:
    numbers = identifiers_in(cohort).nhs_numbers
    assert len(numbers) >= PATIENTS
    leaks = [
        (service, form)
        for service, text in logs_after_the_journey.items()
        for number in numbers
        for form in nhs_number_forms(number)
        if form in text
    ]
    assert leaks == []


def test_no_patient_name_of_the_cohort_appears_in_any_log(
    cohort: Cohort, logs_after_the_journey: dict[str, str]
) -> None:
    names = {n for n in identifiers_in(cohort).names if len(n) >= 3}
    assert len(names) >= PATIENTS
    leaks = [
        (service, name)
        for service, text in logs_after_the_journey.items()
        for name in names
        if re.search(rf"(?<![A-Za-z]){re.escape(name)}(?![A-Za-z])", text, re.IGNORECASE)
    ]
    assert leaks == []


def test_no_date_of_birth_of_the_cohort_appears_in_any_log(
    cohort: Cohort, logs_after_the_journey: dict[str, str]
) -> None:
    births = identifiers_in(cohort).birth_dates
    assert len(births) >= PATIENTS // 2
    leaks = [
        (service, form)
        for service, text in logs_after_the_journey.items()
        for day in births
        for form in birth_date_forms(day)
        if form in text
    ]
    assert leaks == []
