"""`rmbc demo --json` as a newcomer runs it: the whole pipeline, a summary, nothing left running."""

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from shared.settings import KafkaSettings

CONTRACT_KEYS = {
    "accepted", "rejected", "flags", "gp_letters", "cns_emails", "registry_records", "lost",
    "latency_ms", "truth",
}  # fmt: skip


def test_the_demo_streams_a_cohort_and_reports_agreement_with_its_truth(
    kafka_settings: KafkaSettings, tmp_path: Path
) -> None:
    output = tmp_path / "demo-output"
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": kafka_settings.bootstrap_servers}
    done = subprocess.run(
        [sys.executable, "-m", "services.cli", "demo", "--patients", "40", "--json",
         "--output", str(output)],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout)
    assert set(summary) >= CONTRACT_KEYS
    assert summary["lost"] == 0
    assert summary["accepted"] > 150 and summary["rejected"] > 0
    assert summary["unexpected_answers"] == 0
    assert summary["registry_records"] > 0 and summary["gp_letters"] > 0
    assert summary["cns_emails"] > 0
    assert set(summary["latency_ms"]) == {"p50", "p95", "p99"}
    for kind in ("recurrence", "metastatic"):
        assert summary["truth"][kind]["sensitivity"] >= 0.95, summary["truth"]
        assert summary["truth"][kind]["ppv"] >= 0.95, summary["truth"]
    letters = list((output / "gp-letters").glob("*.html"))
    assert letters and "NHS number" in letters[0].read_text()
    assert list((output / "cns-emails").glob("*.eml"))
    _the_registry_report_counts_what_the_generator_made(summary, Path(summary["registry_report"]))
    _the_demo_cohorts_records_export_as_valid_cosd_xml(output / "registry" / "records.v2.jsonl")
    assert _processes_mentioning(str(output)) == [], "the demo left processes running"


def _the_demo_cohorts_records_export_as_valid_cosd_xml(records: Path) -> None:
    """`rmbc cosd export` over the demo cohort's v2 records: the command validates the document
    against the repository's COSD schema before it writes it, so a file means a valid document."""
    months = {json.loads(line)["recorded_at"][:7] for line in records.read_text().splitlines()}
    for month in sorted(months):
        xml = records.with_name(f"cosd-{month}.xml")
        done = subprocess.run(
            [sys.executable, "-m", "services.cli", "cosd", "export", "--month", month,
             "--records", str(records), "--out", str(xml)],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
        assert xml.read_bytes().startswith(b"<?xml") and b"NHSNumber" in xml.read_bytes()


def _the_registry_report_counts_what_the_generator_made(summary: dict, page: Path) -> None:
    """The analyst's report against the cohort's truth: every de novo metastatic patient the
    generator made is one de novo episode, and every patient it made with a recurrence has at
    least one recurrence episode (a patient may have two)."""
    assert page.name == "index.html" and page.read_text().count("<img") >= 5  # plots, not tables
    with (page.parent / "by_month.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    episodes = {kind: sum(int(row[kind]) for row in rows) for kind in ("recurrence", "de novo")}
    truth = summary["truth"]
    made = {
        kind: truth[kind]["true_positives"] + truth[kind]["false_negatives"]
        for kind in ("recurrence", "de_novo_metastatic")
    }
    assert made["de_novo_metastatic"] > 0 and made["recurrence"] > 0
    assert episodes["de novo"] == made["de_novo_metastatic"], (episodes, truth)
    assert episodes["recurrence"] >= made["recurrence"], (episodes, truth)


def ignoring_sigint() -> None:
    """What a shell does to a background job (`cmd &` in a script): SIGINT ignored, inherited."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _processes_mentioning(text: str) -> list[int]:
    """Processes whose environment or command line names `text` (the demo's services do)."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            seen = (proc / "environ").read_bytes() + (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if text.encode() in seen and int(proc.name) != os.getpid():
            found.append(int(proc.name))
    return found


def test_ctrl_c_while_streaming_stops_everything_the_demo_started_even_from_a_job_ignoring_it(
    kafka_settings: KafkaSettings, tmp_path: Path
) -> None:
    output = tmp_path / "demo-output"
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": kafka_settings.bootstrap_servers}
    log = tmp_path / "demo.err"
    with log.open("wb") as stderr:
        demo = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "demo", "--patients", "600",
             "--output", str(output)],
            stdout=subprocess.DEVNULL, stderr=stderr, env=env, preexec_fn=ignoring_sigint,
        )  # fmt: skip
        deadline = time.monotonic() + 120
        while b"streaming [" not in log.read_bytes() and time.monotonic() < deadline:
            assert demo.poll() is None, log.read_text()
            time.sleep(0.2)
        assert _processes_mentioning(str(output)), "the services should be running by now"
        demo.send_signal(signal.SIGINT)
        assert demo.wait(60) == 130
    assert "interrupted; everything it started is stopped" in log.read_text()
    assert _processes_mentioning(str(output)) == []
