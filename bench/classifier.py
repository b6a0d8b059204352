"""Classifier speed and state size: events/s of the pure core on one core, of the stream (when
KAFKA_BOOTSTRAP_SERVERS points at a broker with a classifier running), and state bytes per patient.

    .venv/bin/python -m bench.classifier [--patients 2000]
"""

import argparse
import statistics
import time
from datetime import UTC, datetime

from services.classifier.core import handle
from services.classifier.flags import FlagContext
from services.classifier.state import PatientState
from services.classifier.terminology import load_terminology
from tests.scenarios.build import SCENARIOS, Case


def cohort(patients: int, routine: int) -> list[tuple[str, list[dict]]]:
    """Scenario patients; `routine` unrelated observations (vital signs) per patient mixed in."""
    people = []
    for number in range(1, patients + 1):
        _, build, _ = SCENARIOS[number % len(SCENARIOS)]
        case = build(Case(number))
        for i in range(routine):
            case.observation(f"bp{i}", ("http://loinc.org", "8480-6"), "0", "2021-01-01")
        people.append((case.nhs, [r for r in case.resources if r["resourceType"] != "Patient"]))
    return people


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=2000)
    args = parser.parse_args()
    for routine in (0, 10):
        run(args.patients, routine)


def run(patients: int, routine: int) -> None:
    terms = load_terminology()
    people = cohort(patients, routine)
    events = sum(len(resources) for _, resources in people)
    now = datetime.now(UTC)
    states: dict[str, bytes] = {}
    flags = 0
    started = time.perf_counter()
    for key, resources in people:
        context = FlagContext(key, now, now, key)
        for resource in resources:  # as the stream does: load state, apply, store bytes
            state = PatientState.from_bytes(states.get(key))
            change = handle(state, resource, None, terms, context)
            flags += len(change.flags)
            if change.changed:
                states[key] = change.state.to_bytes()
    elapsed = time.perf_counter() - started
    sizes = [len(data) for data in states.values()]
    print(
        f"pure core: {events} events, {flags} flags in {elapsed:.2f}s = {events / elapsed:,.0f} events/s (one core, state serialised per event)"
    )
    print(
        f"state bytes per patient: median {statistics.median(sizes):.0f}, p95 {sorted(sizes)[int(len(sizes) * 0.95)]}, max {max(sizes)}"
    )


if __name__ == "__main__":
    main()
