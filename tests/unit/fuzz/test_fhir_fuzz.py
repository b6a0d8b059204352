"""Thousands of malformed FHIR documents and Bundles against the real ingest app: never a 5xx.

The corpus is deterministic (fixed seed); a failure names the case (`kind#number`) so it can be
regenerated with `corpus.fhir_cases`.
"""

import logging
from collections import Counter

import orjson
import pytest

from tests.unit.fuzz.corpus import cohort_seeds, fhir_cases
from tests.unit.fuzz.harness import AUTH, error_records, fhir_client, watching_the_loop
from tests.unit.ingest.samples import outcome_of

FHIR_CASES = 6_500
SEED = 20_261_126
ANSWERED = {200, 201, 400, 404, 413, 415, 422}


@pytest.fixture(scope="module")
def seeds():
    return cohort_seeds()


async def test_thousands_of_malformed_fhir_requests_each_get_a_4xx_outcome_or_are_stored(
    seeds, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    statuses: Counter[int] = Counter()
    kinds: Counter[str] = Counter()
    wrong: list[str] = []
    async with watching_the_loop() as loop_failures, fhir_client() as (client, publisher):
        for case in fhir_cases(seeds, FHIR_CASES, SEED):
            kinds[case.kind] += 1
            sent_before = len(publisher.sent)
            response = await client.request(
                case.method,
                case.path,
                content=case.body,
                headers={**AUTH, "Content-Type": case.content_type},
            )
            statuses[response.status_code] += 1
            if response.status_code not in ANSWERED:
                wrong.append(f"{case}: {response.status_code} {response.text[:200]}")
                continue
            answer = orjson.loads(response.content)
            if response.status_code >= 400:
                if answer.get("resourceType") == "Bundle":  # a $process-message response message
                    answer = outcome_of(answer)
                issues = answer.get("issue", [])
                if answer.get("resourceType") != "OperationOutcome" or not issues:
                    wrong.append(f"{case}: {response.status_code} without an OperationOutcome")
                elif not all(i.get("diagnostics") for i in issues):
                    wrong.append(f"{case}: an issue without diagnostics")
                if len(publisher.sent) != sent_before and response.status_code != 200:
                    wrong.append(f"{case}: refused with {response.status_code} but published")
            elif len(publisher.sent) == sent_before and case.path != "/fhir":
                wrong.append(f"{case}: {response.status_code} but nothing was published")
        health = await client.get("/healthz")
        ready = await client.get("/readyz")

    print(
        f"\nFHIR fuzz: {sum(statuses.values())} requests, statuses {dict(sorted(statuses.items()))}"
    )
    assert sum(statuses.values()) == FHIR_CASES
    assert wrong == []
    assert error_records(caplog.records) == []
    assert loop_failures.contexts == []
    assert (health.status_code, ready.status_code) == (200, 200)
    # the corpus is hostile: nearly everything is refused, and every mutator was exercised
    assert statuses[400] + statuses[413] + statuses[422] > FHIR_CASES * 0.8
    assert statuses[413] > 0
    assert min(kinds.values()) >= FHIR_CASES // len(kinds) - 1
