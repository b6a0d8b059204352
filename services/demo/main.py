"""`rmbc demo`: the whole pipeline on a synthetic cohort, then what came out and how right it was.

Starts what is missing (broker, mesh-sandbox, SMTP sink, the three services), streams the cohort
through ingest over HTTP and MLLP, waits with a deadline until the pipeline has drained, prints the
summary, and stops everything it started - also on Ctrl-C or failure.
"""

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path
from types import FrameType
from typing import Any

from mesh_client import MeshClient

from services.broker import DEFAULT_STATE_DIR, BrokerError, LocalBroker
from services.demo.feeder import Answer, feed
from services.demo.pipeline import GP_MAILBOXES, Pipeline, directory_document
from services.demo.readback import read_all
from services.demo.report import agreement, percentiles, render_text
from services.demo.sign_in import demo_users
from services.demo.stack import MESH_PASSWORD, MESH_SHARED_KEY, StackError
from services.demo.worklist import running_registry_agreement, running_worklist
from shared.codec import UndecodableEvent, decode, decode_as
from shared.events import AlertEvent, CancerFlag, ClinicalEvent, RegistryRecord, RegistryRecordV2
from shared.settings import KafkaSettings
from shared.state_dir import PROJECT_ROOT
from shared.topics import TopicNames

CNS_TEAM = "breast-cns@rmbc-demo.invalid"
MDT_LEAD = "breast-mdt-lead@rmbc-demo.invalid"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="rmbc demo", description=__doc__)
    parser.add_argument("--patients", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    parser.add_argument("--output", type=Path, default=PROJECT_ROOT / "demo-output")
    parser.add_argument("--drain-timeout", type=float, default=180.0)
    parser.add_argument(
        "--keep-worklist",
        action=argparse.BooleanOptionalAction,
        default=sys.stdin.isatty(),
        help="keep the worklist (and the pipeline) up after the run until Enter is pressed "
        "(default: when run from a terminal)",
    )
    args = parser.parse_args(argv)
    # installed, not inherited: a job started with SIGINT ignored (`cmd &` in a script) still
    # stops on Ctrl-C / kill -INT
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    say = _printer(quiet=args.json)
    try:
        with _kafka(say) as (kafka, topics):
            summary = run(kafka, topics, args, say)
    except KeyboardInterrupt:
        print("\nrmbc demo: interrupted; everything it started is stopped", file=sys.stderr)
        return 130
    except (BrokerError, StackError) as error:
        print(f"rmbc demo: {error}", file=sys.stderr)
        return 2
    print(json.dumps(summary, default=str) if args.json else render_text(summary))
    return 1 if summary["lost"] else 0


def run(
    kafka: KafkaSettings, topics: TopicNames, args: argparse.Namespace, say: Any
) -> dict[str, Any]:
    from services.demo.cohort import GP_PRACTICES, TRUSTS, generate_cohort

    cohort = generate_cohort(args.patients, seed=args.seed)
    work_dir = args.output / "run"
    shutil.rmtree(args.output, ignore_errors=True)
    directory = directory_document(
        gp_practices={
            ods: GP_MAILBOXES[i % len(GP_MAILBOXES)] for i, ods in enumerate(GP_PRACTICES)
        },
        cns_teams={ods: CNS_TEAM for ods in TRUSTS},
        default_cns=CNS_TEAM,
        mdt_lead=MDT_LEAD,
    )
    pipeline = Pipeline(
        work_dir, kafka, topics, directory, app_id=f"rmbc-demo-{uuid.uuid4().hex[:8]}"
    )
    say(f"starting mesh-sandbox, SMTP sink, ingest, classifier, notifier (logs in {pipeline.logs})")
    with pipeline:
        say(f"streaming {len(cohort.deliveries)} deliveries for {args.patients} patients")
        answers = asyncio.run(
            feed(
                cohort.deliveries,
                ingest_url=pipeline.ingest_url,
                mllp_port=pipeline.mllp_port,
                token=pipeline.token,
                progress=not args.json,
            )
        )
        say("waiting for the pipeline to drain")
        asyncio.run(_drain(pipeline, args.drain_timeout))
        letters = _collect_gp_letters(pipeline, args.output / "gp-letters")
        mails = pipeline.smtp.mails
        _keep_examples(pipeline, args.output / "cns-emails")
        outputs = asyncio.run(_read_outputs(kafka, topics))
        _show_worklist(pipeline, kafka, topics, list(TRUSTS), args.keep_worklist, say)
        # read after the worklist: the MDT's confirmations made there are agreed records by now
        registry_v2 = asyncio.run(read_all(kafka, topics.registry_records_v2))
    summary = summarise(cohort, answers, outputs, letters, len(mails), args.output)
    from services.registry.report import write_registry_outputs  # matplotlib only here

    records = [RegistryRecordV2.model_validate_json(r.value) for r in registry_v2]
    summary["registry_report"] = str(write_registry_outputs(records, args.output / "registry"))
    return summary


def _show_worklist(
    pipeline: Pipeline,
    kafka: KafkaSettings,
    topics: TopicNames,
    trusts: list[str],
    keep: bool,
    say: Any,
) -> None:
    """Start the worklist (with its escalation loop) and the registry agreement on the run's
    topics; print the worklist's address and demo users to stderr."""
    users = demo_users(tuple(trusts))
    unassigned = {"RMBC_WORKLIST_DEFAULT_TRUST": trusts[0]}
    logs = pipeline.logs / "worklist"
    with (
        running_worklist(
            logs, kafka, topics, users, env=unassigned, escalation=pipeline.mail_env()
        ) as worklist,
        running_registry_agreement(logs, kafka, topics),
    ):
        say("the CNS and MDT worklist is up:\n" + "\n".join(worklist.describe()))
        say(f"an MDT confirmation there becomes an agreed record on {topics.registry_records_v2}")
        if keep:
            input("rmbc demo: press Enter to stop the worklist and the pipeline ")


def summarise(
    cohort: Any,
    answers: list[Answer],
    outputs: dict[str, list[Any]],
    gp_letters: int,
    cns_emails: int,
    output_dir: Path,
) -> dict[str, Any]:
    accepted = [answer for answer in answers if answer.accepted]
    rejected = Counter(f"{a.channel} {a.status}" for a in answers if not a.accepted)
    current = _current_flags(outputs["flags"])
    predicted: dict[str, dict[str, bool]] = {}
    for flag in current.values():
        if flag.state == "retracted" or flag.kind == "review":
            continue
        seen = predicted.setdefault(flag.patient_key, {})
        seen["recurrence"] = seen.get("recurrence", False) or flag.recurrence
        seen["metastatic"] = seen.get("metastatic", False) or flag.metastatic
        seen["de_novo_metastatic"] = (
            seen.get("de_novo_metastatic", False) or flag.de_novo_metastatic
        )
    truth = {key: _as_dict(value) for key, value in cohort.truth.items()}
    records: list[RegistryRecord] = outputs["registry"]
    acked_at = {answer.correlation_id: answer.acked_at for answer in accepted}
    latencies = [
        (timestamp / 1000 - acked_at[record.correlation_id]) * 1000
        for record, timestamp in outputs["registry_timestamps"]
        if record.correlation_id in acked_at
    ]
    return {
        "patients": len(cohort.truth),
        "deliveries": len(answers),
        "accepted": len(accepted),
        "rejected": sum(rejected.values()),
        "rejected_by_reason": dict(sorted(rejected.items())),
        "unexpected_answers": sum(
            1
            for d, a in zip(cohort.deliveries, answers, strict=True)
            if (d.expect == "accepted") != a.accepted
        ),
        "flags": dict(
            sorted(Counter(f.kind for f in current.values() if f.state != "retracted").items())
        ),
        "flags_retracted": sum(1 for f in current.values() if f.state == "retracted"),
        "flag_events": len(outputs["flags"]),
        "gp_letters": gp_letters,
        "cns_emails": cns_emails,
        "registry_records": len(records),
        "alerts_by_outcome": dict(Counter(f"{a.channel} {a.outcome}" for a in outputs["alerts"])),
        "dead_letters": len(outputs["dead_letters"]),
        "lost": _lost(accepted, outputs, current),
        "latency_ms": percentiles(latencies),
        "truth": agreement(truth, predicted),
        "output_dir": str(output_dir),
    }


def _lost(
    accepted: list[Answer], outputs: dict[str, list[Any]], current: dict[str, CancerFlag]
) -> int:
    """Accepted inputs that produced nothing they should have."""
    on_topic = {event.correlation_id for event in outputs["events"]}
    missing_events = sum(1 for answer in accepted if answer.correlation_id not in on_topic)
    recorded_flags = {record.flag_id for record in outputs["registry"]}
    alerted_flags = {alert.flag_id for alert in outputs["alerts"] if alert.outcome in _DELIVERED}
    live = [f for f in current.values() if f.state != "retracted" and f.kind != "review"]
    missing_records = sum(1 for flag in live if flag.flag_id not in recorded_flags)
    missing_alerts = sum(1 for flag in live if flag.flag_id not in alerted_flags)
    return missing_events + missing_records + missing_alerts


_DELIVERED = {"sent", "already_sent", "unroutable"}


def _current_flags(flags: list[CancerFlag]) -> dict[str, CancerFlag]:
    current: dict[str, CancerFlag] = {}
    for flag in flags:
        if flag.flag_id not in current or flag.revision > current[flag.flag_id].revision:
            current[flag.flag_id] = flag
    return current


def _as_dict(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if hasattr(value, "model_dump"):
        return dict(value.model_dump())
    return dict(vars(value))


async def _drain(pipeline: Pipeline, timeout: float) -> None:
    if not await pipeline.drained(timeout):
        raise StackError(
            f"the pipeline did not drain within {timeout:.0f}s; logs in {pipeline.logs}"
        )


async def _read_outputs(kafka: KafkaSettings, topics: TopicNames) -> dict[str, list[Any]]:
    def decoded(records: list[Any], model: Any) -> list[Any]:
        out = []
        for record in records:
            with contextlib.suppress(UndecodableEvent):  # counted by the dead-letter figures
                out.append(decode_as(record.value, model))
        return out

    registry_raw = await read_all(kafka, topics.registry_records)
    registry = decoded(registry_raw, RegistryRecord)
    return {
        "events": decoded(await read_all(kafka, topics.clinical_events), ClinicalEvent),
        "flags": decoded(await read_all(kafka, topics.cancer_flags), CancerFlag),
        "registry": registry,
        "registry_timestamps": [
            (decode(record.value), record.timestamp)
            for record in registry_raw
            if isinstance(decode(record.value), RegistryRecord)
        ],
        "alerts": decoded(await read_all(kafka, topics.alerts), AlertEvent),
        "dead_letters": await read_all(kafka, topics.dead_letter),
    }


def _collect_gp_letters(pipeline: Pipeline, folder: Path, keep: int = 5) -> int:
    """Read every GP mailbox with mesh-client (and acknowledge); keep a few letters to look at."""
    folder.mkdir(parents=True, exist_ok=True)
    count = 0
    for mailbox in GP_MAILBOXES:
        with MeshClient(
            pipeline.mesh_url, mailbox, MESH_PASSWORD, shared_key=MESH_SHARED_KEY.encode(),
            max_retries=0,
        ) as client:  # fmt: skip
            for message_id in client.list_messages():
                message = client.retrieve_message(message_id)
                body = message.read()
                if count < keep:
                    _save_parts(body, folder / f"{mailbox}-{count + 1}")
                message.acknowledge()
                count += 1
    return count


def _keep_examples(pipeline: Pipeline, folder: Path, keep: int = 5) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for path in sorted((pipeline.work_dir / "mail").glob("*.eml"))[:keep]:
        shutil.copy(path, folder / path.name)
        _save_parts(path.read_bytes(), folder / path.stem)


def _save_parts(mime: bytes, stem: Path) -> None:
    """A MIME document as files a person can open: .eml, and its HTML and JSON parts."""
    stem.with_suffix(".eml").write_bytes(mime)
    extensions = {"text/html": ".html", "application/fhir+json": ".json"}
    for part in message_from_bytes(mime, policy=policy.default).walk():
        extension = extensions.get(part.get_content_type())
        if extension:
            content = part.get_content()
            text = content.decode() if isinstance(content, bytes) else content
            stem.with_suffix(extension).write_text(text)


@contextlib.contextmanager
def _kafka(say: Any) -> Iterator[tuple[KafkaSettings, TopicNames]]:
    """The cluster to use: KAFKA_BOOTSTRAP_SERVERS, a running `rmbc broker`, or one of our own."""
    settings = KafkaSettings()
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        say(f"using Kafka at {settings.bootstrap_servers} (topics suffixed for this run)")
        yield settings, TopicNames.with_suffix(f"demo-{uuid.uuid4().hex[:8]}")
        return
    running = LocalBroker(DEFAULT_STATE_DIR).status()
    if running:
        say(f"using the running local broker at {running.bootstrap} (topics suffixed for this run)")
        yield (
            KafkaSettings(bootstrap_servers=running.bootstrap),
            TopicNames.with_suffix(f"demo-{uuid.uuid4().hex[:8]}"),
        )
        return
    broker = LocalBroker(DEFAULT_STATE_DIR.parent / "demo-broker")
    say("starting a local Kafka broker")
    info = broker.start()
    say(f"Kafka at {info.bootstrap} (log {info.log_file})")
    try:
        yield KafkaSettings(bootstrap_servers=info.bootstrap), TopicNames()
    finally:
        broker.stop()


def _printer(quiet: bool) -> Any:
    def say(message: str) -> None:
        if not quiet:
            print(f"rmbc demo: {message}", file=sys.stderr, flush=True)

    return say


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """SIGTERM stops the run as Ctrl-C does (asyncio turns Ctrl-C into KeyboardInterrupt)."""
    raise KeyboardInterrupt
