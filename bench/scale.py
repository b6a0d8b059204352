"""Classifier core speed and state size, and what 100,000 and 1,000,000 patients' state costs.

The core is measured as the stream uses it (load the state bytes, apply, classify, store the
bytes) on the labelled scenario cohort with routine observations mixed in. The large stores are
filled with the real state bytes of that cohort, repeated under distinct keys: building a million
patients through the core would take minutes and give the same sizes.
"""

import gc
import os
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from services.classifier.core import handle
from services.classifier.flags import FlagContext
from services.classifier.state import PatientState
from services.classifier.terminology import load_terminology


def cohort(patients: int, routine: int) -> list[tuple[str, list[dict[str, Any]]]]:
    from bench.classifier import cohort as scenario_cohort  # the classifier's own bench cohort

    return scenario_cohort(patients, routine)


def core_rate(people: list[tuple[str, list[dict[str, Any]]]]) -> tuple[float, dict[str, bytes]]:
    """Events/s of the pure core on one core, and the final state bytes per patient key."""
    terms = load_terminology()
    now = datetime(2025, 1, 1, tzinfo=UTC)
    states: dict[str, bytes] = {}
    events = sum(len(resources) for _, resources in people)
    gc.collect()
    started = time.perf_counter()
    for key, resources in people:
        context = FlagContext(key, now, now, key)
        for resource in resources:
            change = handle(
                PatientState.from_bytes(states.get(key)), resource, None, terms, context
            )
            if change.changed:
                states[key] = change.state.to_bytes()
    return events / (time.perf_counter() - started), states


def state_sizes(states: dict[str, bytes]) -> dict[str, float]:
    sizes = sorted(len(value) for value in states.values())
    return {
        "median": statistics.median(sizes),
        "mean": statistics.fmean(sizes),
        "p95": sizes[int(len(sizes) * 0.95)],
        "max": sizes[-1],
    }


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def memory_store(states: list[bytes], patients: int) -> dict[str, float]:
    """A faust memory:// table is a dict of key bytes -> value bytes: its resident cost."""
    gc.collect()
    before = rss_bytes()
    table = {  # a copy per patient, as each row is its own object in a real table
        f"{9_000_000_000 + n}".encode(): bytes(bytearray(states[n % len(states)]))
        for n in range(patients)
    }
    gc.collect()
    grown = rss_bytes() - before
    assert len(table) == patients
    del table
    return {"patients": patients, "rss_bytes": grown, "bytes_per_patient": grown / patients}


def rocksdb_store(states: list[bytes], patients: int) -> dict[str, float]:
    """The rocksdb:// store faust uses (rocksdict): disk after a flush and compaction, and RSS."""
    from rocksdict import Options, Rdict, WriteBatch

    folder = Path(tempfile.mkdtemp(prefix="rmbc-bench-rocksdb-"))
    gc.collect()
    before = rss_bytes()
    db = Rdict(str(folder), Options(raw_mode=True))
    started = time.perf_counter()
    try:
        for first in range(0, patients, 10_000):
            batch = WriteBatch(raw_mode=True)
            for n in range(first, min(patients, first + 10_000)):
                batch.put(f"{9_000_000_000 + n}".encode(), states[n % len(states)])
            db.write(batch)
        db.flush()
        db.compact_range(None, None)
        seconds = time.perf_counter() - started
        grown = rss_bytes() - before
        disk = sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())
    finally:
        db.close()
        shutil.rmtree(folder, ignore_errors=True)
    return {
        "patients": patients,
        "disk_bytes": disk,
        "disk_bytes_per_patient": disk / patients,
        "rss_bytes": grown,
        "writes_per_s": patients / seconds,
    }
