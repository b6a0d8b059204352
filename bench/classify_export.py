"""`rmbc classify` on a bulk NDJSON export: resources/s and peak RSS of the command as an analyst
runs it on a national extract.

The export is written first, deterministically, in the FHIR Bulk Data form (one NDJSON file per
resource type: Patient, Condition, Observation): patients are the labelled scenario patients in
turn (tests/scenarios/build.py), each with `routine` vital-sign observations, as most of a real
extract is. It is not committed; it lives in a temporary folder for the run. The command runs as
a child process reading the folder, its output discarded; the time is its wall clock from start
to exit, and the peak RSS is the child's own (`wait4`).

    .venv/bin/python -m bench.classify_export [--patients 100000] [--routine 5]
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from tests.scenarios.build import SCENARIOS, Case

RESOURCE_TYPES = ("Patient", "Condition", "Observation")


def write_export(folder: Path, patients: int, routine: int) -> int:
    """The export's files under `folder`; returns the number of resources written."""
    files = {kind: (folder / f"{kind}.ndjson").open("wb") for kind in RESOURCE_TYPES}
    written = 0
    try:
        for number in range(1, patients + 1):
            _, build, _ = SCENARIOS[number % len(SCENARIOS)]
            case = build(Case(number))
            for i in range(routine):
                case.observation(f"bp{i}", ("http://loinc.org", "8480-6"), "0", "2021-01-01")
            for resource in case.resources:
                files[resource["resourceType"]].write(orjson.dumps(resource) + b"\n")
            written += len(case.resources)
    finally:
        for handle in files.values():
            handle.close()
    return written


def classify_rate(patients: int, routine: int = 5) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="rmbc-bench-export-"))
    try:
        resources = write_export(folder, patients, routine)
        export_bytes = sum(path.stat().st_size for path in folder.iterdir())
        command = [sys.executable, "-m", "services.cli", "classify", str(folder)]
        with tempfile.TemporaryFile() as errors:
            started = time.perf_counter()
            child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=errors)
            _, status, usage = os.wait4(child.pid, 0)
            seconds = time.perf_counter() - started
            child.returncode = os.waitstatus_to_exitcode(status)
            if child.returncode != 0:
                errors.seek(0)
                said = errors.read(300).decode(errors="replace")
                raise RuntimeError(f"rmbc classify failed ({child.returncode}): {said}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {
        "patients": patients,
        "resources": resources,
        "export_bytes": export_bytes,
        "seconds": seconds,
        "resources_per_s": resources / seconds,
        "peak_rss_bytes": usage.ru_maxrss * 1024,  # Linux reports kilobytes
    }


def line(figures: dict[str, Any]) -> str:
    return (
        f"rmbc classify, {figures['patients']:,}-patient NDJSON export "
        f"({figures['resources']:,} resources, {figures['export_bytes'] / 2**20:.0f} MiB): "
        f"{figures['resources_per_s']:,.0f} resources/s, peak RSS "
        f"{figures['peak_rss_bytes'] / 2**20:,.0f} MiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--routine", type=int, default=5)
    args = parser.parse_args()
    print(line(classify_rate(args.patients, args.routine)))


if __name__ == "__main__":
    main()
