"""`make bench`: rmbc against its limits on this machine, side by side with the baselines.

    .venv/bin/python -m bench            # full run, about 6 minutes on 2 cores
    BENCH_QUICK=1 .venv/bin/python -m bench   # smoke run, 2-3 minutes

Starts its own Kafka broker (services.broker.LocalBroker in a temporary folder) unless
KAFKA_BOOTSTRAP_SERVERS is set. Prints a table and writes the same figures as JSON to
bench/results/latest.json. BENCH_PROFILE=<dir> also records py-spy profiles of the services.
"""

import asyncio
import contextlib
import os
import platform
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from bench import baselines, classify_export, e2e, ingest_load, scale, stream
from bench.stats import Spread, highest_sustained
from bench.workload import clinical_event_values, nhs_number
from services.broker import LocalBroker
from shared.settings import KafkaSettings

RESULTS = Path(__file__).parent / "results" / "latest.json"
GOALS = {
    "ingest_bundle_ratio": (">=", 0.60),
    "e2e_sustained_rps": (">=", 1500),
    "e2e_p99_ms_at_500": ("<=", 500),
    "classifier_core_eps": (">=", 20000),
    "state_bytes_per_patient": ("<=", 1024),
}


class Plan:
    def __init__(self, quick: bool) -> None:
        self.quick = quick
        self.repeats = 2 if quick else 3
        self.seconds = 0.5 if quick else 1.5  # per in-process rate measurement
        self.singles = 600 if quick else 2000
        self.bundles = 8 if quick else 30
        self.mllp_messages = 300 if quick else 1000
        self.core_patients = 600 if quick else 2000
        self.stream_patients = 200 if quick else 1000  # 20 events each
        self.stream_partitions = [1] if quick else [1, 2, 4]
        self.e2e_loads = [100.0, 500.0, 1000.0]
        self.e2e_seconds = 4.0 if quick else 10.0
        self.e2e_repeats = 1 if quick else 3
        self.e2e_ramp = (
            [750.0, 1500.0] if quick else [750.0, 1250.0, 1500.0, 2000.0, 2500.0, 3000.0, 4000.0]
        )
        self.scale_sizes = [100_000, 1_000_000]
        self.classify_patients = 20_000 if quick else 100_000  # rmbc classify on an NDJSON export


def repeat(times: int, measure: Callable[[], float]) -> Spread:
    return Spread.of([measure() for _ in range(times)])


def section(title: str) -> None:
    print(f"\n{title}", file=sys.stderr, flush=True)


def run(
    kafka: KafkaSettings, plan: Plan, work_dir: Path, broker_pid: int | None = None
) -> dict[str, Any]:
    from fhir.resources.R4B.bundle import Bundle
    from fhir.resources.R4B.condition import Condition

    from bench.ingest import condition, transaction

    results: dict[str, Any] = {}
    singles = [orjson.dumps(condition(n)) for n in range(plan.singles)]
    bundles = [orjson.dumps(transaction(n * 100)) for n in range(plan.bundles)]

    section("baselines: orjson, bare validation, raw Kafka")
    bare_single = repeat(
        plan.repeats, lambda: baselines.validation_rate(Condition, singles, 1, plan.seconds)
    )
    bare_bundle = repeat(
        plan.repeats, lambda: baselines.validation_rate(Bundle, bundles, 100, plan.seconds)
    )
    events = clinical_event_values(1, plan.stream_patients, e2e.ROUTINE)
    kafka_runs = [asyncio.run(baselines.kafka_rates(kafka, events)) for _ in range(plan.repeats)]
    results["baselines"] = {
        "orjson_single_per_s": repeat(
            plan.repeats, lambda: baselines.parse_rate(singles, 1, plan.seconds)
        ).as_dict(0),
        "orjson_bundle100_resources_per_s": repeat(
            plan.repeats, lambda: baselines.parse_rate(bundles, 100, plan.seconds)
        ).as_dict(0),
        "validation_single_per_s": bare_single.as_dict(0),
        "validation_bundle100_resources_per_s": bare_bundle.as_dict(0),
        "kafka_produce_acks_all_per_s": Spread.of([r["produce_per_s"] for r in kafka_runs]).as_dict(
            0
        ),
        "kafka_consume_per_s": Spread.of([r["consume_per_s"] for r in kafka_runs]).as_dict(0),
        "kafka_event_bytes": round(kafka_runs[0]["event_bytes"]),
    }

    section("ingest: HTTP single resources, Bundles of 100, MLLP")
    results["ingest"] = measure_ingest(
        kafka, plan, work_dir, singles, bundles, bare_single, bare_bundle
    )
    bundle_rows = [r for r in results["ingest"] if r["payload"] == "Bundle of 100"]
    results["ingest_bundle_ratio"] = max(r["ratio"]["median"] for r in bundle_rows)

    section("classifier: pure core, state size, large stores")
    people = scale.cohort(plan.core_patients, 10)
    core_runs = [scale.core_rate(people) for _ in range(plan.repeats)]
    states = core_runs[-1][1]
    sizes = scale.state_sizes(states)
    state_values = list(states.values())
    results["classifier_core_eps"] = round(Spread.of([r for r, _ in core_runs]).median)
    results["state_bytes_per_patient"] = round(sizes["mean"])
    results["classifier"] = {
        "core_events_per_s": Spread.of([r for r, _ in core_runs]).as_dict(0),
        "core_events": sum(len(r) for _, r in people),
        "state_bytes": sizes,
        "memory_store": scale.memory_store(state_values, plan.scale_sizes[0]),
        "rocksdb_store": scale.rocksdb_store(state_values, plan.scale_sizes[-1]),
    }

    section(f"rmbc classify: a {plan.classify_patients:,}-patient NDJSON export")
    results["classifier"]["classify_export"] = classify_export.classify_rate(plan.classify_patients)

    section("classifier stream: pre-filled topic, 1/2/4 partitions and workers")
    streams = {}
    for partitions in plan.stream_partitions:
        try:
            streams[str(partitions)] = stream.workers_rate(
                kafka, work_dir / "stream", partitions, plan.stream_patients, e2e.ROUTINE
            )
        except Exception as error:  # one configuration failing must not hide the others
            streams[str(partitions)] = {"error": f"{type(error).__name__}: {error}"}
    results["classifier"]["stream"] = streams

    section("end to end: offered loads through ingest, classifier and notifier")
    pipeline = e2e.start_pipeline(work_dir / "pipeline", kafka, uuid.uuid4().hex[:8])
    try:
        measured = asyncio.run(
            e2e.measure(
                pipeline,
                plan.e2e_loads,
                plan.e2e_seconds,
                plan.e2e_repeats,
                plan.e2e_ramp,
                broker_pid,
            )
        )
    finally:
        pipeline.__exit__(None, None, None)
    fixed = {}
    for rate, runs in measured["fixed"].items():
        summaries = [run.summary() for run in runs]
        fixed[str(int(rate))] = {
            key: Spread.of([s[key] for s in summaries]).as_dict(1)
            for key in ("achieved_rps", "p50_ms", "p95_ms", "p99_ms")
        } | {"sustained": all(s["sustained"] for s in summaries), "runs": summaries}
    ramp = [run.summary() for run in measured["ramp"]]
    steps = [(float(r["offered_rps"]), bool(r["sustained"])) for r in ramp]
    steps += [
        (rate, all(run.sustained for run in runs)) for rate, runs in measured["fixed"].items()
    ]
    results["e2e"] = {"fixed": fixed, "ramp": ramp, "seconds_per_load": plan.e2e_seconds}
    results["e2e_sustained_rps"] = highest_sustained(steps)
    results["e2e_p99_ms_at_500"] = fixed["500"]["p99_ms"]["median"]
    return results


def measure_ingest(
    kafka: KafkaSettings,
    plan: Plan,
    work_dir: Path,
    singles: list[bytes],
    bundles: list[bytes],
    bare_single: Spread,
    bare_bundle: Spread,
) -> list[dict[str, Any]]:
    token = "bench-" + uuid.uuid4().hex
    process, port, mllp_port = ingest_load.start_ingest(kafka, work_dir, token)
    rows = []
    try:
        asyncio.run(ingest_load.http_rate(port, token, "/fhir/Condition", singles[:100], 1, 4))
        cases = [("single Condition", "/fhir/Condition", singles, 1, bare_single, (1, 4, 16))]
        cases += [("Bundle of 100", "/fhir", bundles, 100, bare_bundle, (1, 2, 4))]
        for label, path, payloads, each, bare, levels in cases:
            for concurrency in levels:
                runs = [
                    asyncio.run(
                        ingest_load.http_rate(port, token, path, payloads, each, concurrency)
                    )
                    for _ in range(plan.repeats)
                ]
                rows.append(row(label, concurrency, runs, bare))
        serial = 0
        for connections in (1, 4):
            runs = []
            for _ in range(plan.repeats):
                messages = [
                    ingest_load.oru(f"BENCH{serial + n}", nhs_number(serial + n))
                    for n in range(plan.mllp_messages)
                ]
                serial += plan.mllp_messages
                runs.append(asyncio.run(ingest_load.mllp_rate(mllp_port, messages, connections)))
            rows.append(row("MLLP ORU^R01 (1 OBX)", connections, runs, bare_single))
    finally:
        process.stop()
    return rows


def row(
    label: str, concurrency: int, runs: list[tuple[float, int]], bare: Spread
) -> dict[str, Any]:
    rates = Spread.of([rate for rate, _ in runs])
    return {
        "payload": label,
        "concurrency": concurrency,
        "resources_per_s": rates.as_dict(0),
        "bare_validation_per_s": round(bare.median),
        "ratio": Spread.of([rate / bare.median for rate, _ in runs]).as_dict(3),
        "failures": sum(failed for _, failed in runs),
    }


def goals(results: dict[str, Any]) -> dict[str, Any]:
    verdicts = {}
    for key, (sense, target) in GOALS.items():
        value = results[key]
        met = value >= target if sense == ">=" else value <= target
        verdicts[key] = {"value": value, "goal": f"{sense} {target}", "met": bool(met)}
    return verdicts


def spread_text(spread: dict[str, Any]) -> str:
    median, low, high = spread["median"], spread["min"], spread["max"]
    plus = (high - low) / 2 / median * 100 if median else 0
    return f"{median:,.0f} ±{plus:.0f}%"


def table(results: dict[str, Any]) -> str:
    lines = []
    b = results["baselines"]
    lines.append("BASELINES (this process, one core)          median ±half-range")
    for name, key in (
        ("orjson parse, single Condition /s", "orjson_single_per_s"),
        ("orjson parse, Bundle(100) resources /s", "orjson_bundle100_resources_per_s"),
        ("fhir.resources validation, single /s", "validation_single_per_s"),
        ("fhir.resources validation, Bundle(100) res/s", "validation_bundle100_resources_per_s"),
        (
            f"aiokafka produce acks=all ({b['kafka_event_bytes']} B events) /s",
            "kafka_produce_acks_all_per_s",
        ),
        ("aiokafka consume /s", "kafka_consume_per_s"),
    ):
        lines.append(f"  {name:<46}{spread_text(b[key]):>18}")
    lines.append(
        "\nINGEST (one process)             conc   resources/s     ratio to validation  fail"
    )
    for r in results["ingest"]:
        ratio = r["ratio"]
        lines.append(
            f"  {r['payload']:<30}{r['concurrency']:>5}{spread_text(r['resources_per_s']):>16}"
            f"{ratio['median']:>10.2f} ({ratio['min']:.2f}-{ratio['max']:.2f}){r['failures']:>6}"
        )
    c = results["classifier"]
    lines.append("\nCLASSIFIER")
    lines.append(
        f"  pure core, one core, events/s              {spread_text(c['core_events_per_s']):>18}"
    )
    s = c["state_bytes"]
    lines.append(
        f"  state bytes/patient  mean {s['mean']:.0f}  median {s['median']:.0f}  p95 {s['p95']}  max {s['max']}"
    )
    m, r = c["memory_store"], c["rocksdb_store"]
    lines.append(
        f"  memory:// {m['patients']:,} patients: RSS +{m['rss_bytes'] / 2**20:.0f} MiB ({m['bytes_per_patient']:.0f} B/patient)"
    )
    lines.append(
        f"  rocksdb:// {r['patients']:,} patients: disk {r['disk_bytes'] / 2**20:.0f} MiB "
        f"({r['disk_bytes_per_patient']:.0f} B/patient), RSS +{r['rss_bytes'] / 2**20:.0f} MiB, "
        f"{r['writes_per_s']:,.0f} writes/s"
    )
    lines.append(f"  {classify_export.line(c['classify_export'])}")
    for partitions, figures in c["stream"].items():
        if "error" in figures:
            lines.append(
                f"  stream, {partitions} partition(s)/worker(s): FAILED {figures['error'][:90]}"
            )
        else:
            lines.append(
                f"  stream, {partitions} partition(s)/worker(s): {figures['events_per_s']:,.0f} events/s"
                f" ({figures['events']} events)"
            )
    lines.append(
        "\nEND TO END (2xx at ingest -> registry record)  achieved/s   p50 ms   p95 ms   p99 ms  sustained"
    )
    for rate, f in results["e2e"]["fixed"].items():
        lines.append(
            f"  offered {rate:>5}/s {'':<26}{f['achieved_rps']['median']:>10,.0f}{f['p50_ms']['median']:>9,.0f}"
            f"{f['p95_ms']['median']:>9,.0f}{f['p99_ms']['median']:>9,.0f}  {f['sustained']}"
        )
    for step in results["e2e"]["ramp"]:
        lines.append(
            f"  ramp    {step['offered_rps']:>5.0f}/s {'':<26}{step['achieved_rps']:>10,}{step['p50_ms']:>9,.0f}"
            f"{step['p95_ms']:>9,.0f}{step['p99_ms']:>9,.0f}  {step['sustained']}"
        )
    busiest = (results["e2e"]["ramp"] or [{}])[-1].get("cpu_cores") or {}
    if busiest:
        shares = ", ".join(f"{name} {cores:.2f}" for name, cores in busiest.items())
        lines.append(f"  CPU cores used at the last ramp step: {shares}")
    lines.append("\nGOALS")
    for key, verdict in results["goals"].items():
        mark = "met" if verdict["met"] else "NOT met"
        lines.append(f"  {key:<26}{verdict['value']:>12,}   goal {verdict['goal']:<10} {mark}")
    return "\n".join(lines)


def cpu_model() -> str:
    """Runs on different machines compare only through their baselines; this says which it was."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def main(argv: list[str] | None = None) -> int:
    quick = os.environ.get("BENCH_QUICK", "") not in ("", "0")
    plan = Plan(quick)
    started = time.monotonic()
    work_dir = Path(tempfile.mkdtemp(prefix="rmbc-bench-"))
    broker = None
    broker_pid = None
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not bootstrap:
        section("starting a Kafka broker for the benchmark")
        broker = LocalBroker(work_dir / "broker")
        info = broker.start()
        bootstrap, broker_pid = info.bootstrap, info.pid
    try:
        kafka = KafkaSettings(bootstrap_servers=bootstrap, client_id="rmbc-bench")
        results = run(kafka, plan, work_dir, broker_pid)
    finally:
        if broker is not None:
            broker.stop()
    results["goals"] = goals(results)
    results["run"] = {
        "command": "BENCH_QUICK=1 make bench" if quick else "make bench",
        "quick": quick,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": round(time.monotonic() - started),
        "cpus": os.cpu_count(),
        "cpu_model": cpu_model(),
        "load_average_at_end": os.getloadavg(),
        "python": platform.python_version(),
        "broker": "own LocalBroker" if broker is not None else "KAFKA_BOOTSTRAP_SERVERS",
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
    print(table(results))
    print(f"\n{results['run']['command']}: {results['run']['seconds']} s; JSON in {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
