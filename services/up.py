"""`rmbc up`: a complete local rmbc stack for a trial, in one command.

A Kafka broker with every topic (the running `rmbc broker`, KAFKA_BOOTSTRAP_SERVERS, or one
started here), mesh-sandbox (MESH), an SMTP sink with a read-only web page of the e-mails it
received, ingest, classifier and notifier, and the CNS and MDT worklist with a local OpenID
Connect provider and demo users. It prints every address, token and credential a
user needs, and stops everything it started on Ctrl-C or SIGTERM (also when started from a job
that ignores SIGINT: the handlers are installed here, not inherited)."""

import argparse
import contextlib
import os
import shutil
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

from services.broker import DEFAULT_STATE_DIR, BrokerError, LocalBroker
from services.demo.cohort import GP_PRACTICES, TRUSTS
from services.demo.mail_page import MailPage
from services.demo.pipeline import (
    GP_MAILBOXES,
    MESH_WORKFLOW,
    SENDER_MAILBOX,
    Pipeline,
    directory_document,
)
from services.demo.sign_in import demo_users
from services.demo.stack import MESH_PASSWORD, MESH_SHARED_KEY, StackError
from services.demo.worklist import running_worklist
from shared.settings import KafkaSettings
from shared.state_dir import PROJECT_ROOT, service_state_dir
from shared.topics import LOCAL, TopicNames

CNS_TEAM = "breast-cns@rmbc-trial.invalid"


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rmbc up",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--work-dir",
        type=Path,
        default=service_state_dir("up"),
        help="logs, received mail and the services' data; emptied at each start "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=120.0,
        help="seconds each piece may take to become ready (default: %(default)s)",
    )
    return parser


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    stop = threading.Event()
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop_signal, lambda _number, _frame: stop.set())
    try:
        with _kafka() as kafka:
            return serve(kafka, args.work_dir, args.timeout, stop)
    except (BrokerError, StackError) as error:
        print(f"rmbc up: {error}", file=sys.stderr)
        return 2


def serve(kafka: KafkaSettings, work_dir: Path, timeout: float, stop: threading.Event) -> int:
    shutil.rmtree(work_dir, ignore_errors=True)
    topics = TopicNames()
    directory = directory_document(
        gp_practices={
            ods: GP_MAILBOXES[i % len(GP_MAILBOXES)] for i, ods in enumerate(GP_PRACTICES)
        },
        cns_teams={ods: CNS_TEAM for ods in TRUSTS},
        default_cns=CNS_TEAM,
    )
    app_id = os.environ.get("RMBC_CLASSIFIER_APP_ID", "rmbc-classifier")
    pipeline = Pipeline(work_dir, kafka, topics, directory, app_id, partitions=LOCAL.partitions)
    mail = MailPage(pipeline.smtp_spool)
    _say(
        "starting mesh-sandbox, SMTP sink, notifier, classifier, ingest, the worklist and its "
        f"sign-in provider (logs in {pipeline.logs})"
    )
    users = demo_users(tuple(TRUSTS))
    with (
        pipeline,
        _running(mail),
        running_worklist(pipeline.logs, kafka, topics, users) as worklist,
    ):
        print(addresses(pipeline, mail, kafka, worklist.describe()), flush=True)
        while not stop.wait(1.0):
            pieces = {**pipeline.services, "worklist": worklist.process}
            stopped = [name for name, piece in pieces.items() if not piece.running]
            if stopped:
                _say(f"{', '.join(stopped)} stopped unexpectedly; see {pipeline.logs}")
                return 1
        _say("stopping")
    _say("stopped")
    return 0


def addresses(pipeline: Pipeline, mail: MailPage, kafka: KafkaSettings, worklist: list[str]) -> str:
    """Everything a user needs to send data in and see what came out."""
    fhir = f"{pipeline.ingest_url}/fhir"
    examples = PROJECT_ROOT / "examples"
    return "\n".join(
        [
            "",
            "rmbc is up. Ctrl-C stops everything.",
            "",
            f"  FHIR R4 API         {fhir}   (POST a Bundle to it; a resource to {fhir}/<type>)",
            f"  bearer token        {pipeline.token}",
            f"  HL7 v2 over MLLP    127.0.0.1:{pipeline.mllp_port}",
            f"  CNS e-mails (web)   {mail.url}",
            f"  SMTP sink           127.0.0.1:{pipeline.smtp.port} (no authentication, no TLS)",
            f"  MESH (sandbox)      {pipeline.mesh_url}   sender {SENDER_MAILBOX}, GP mailboxes "
            f"{', '.join(GP_MAILBOXES)}",
            f"  MESH credentials    mailbox password {MESH_PASSWORD!r}, shared key "
            f"{MESH_SHARED_KEY!r}, workflow {MESH_WORKFLOW}",
            f"  classifier          http://127.0.0.1:{pipeline.classifier_port}/metrics",
            f"  notifier            http://127.0.0.1:{pipeline.notifier_port}/metrics",
            *worklist,
            f"  Kafka               {kafka.bootstrap_servers}",
            f"  logs                {pipeline.logs}",
            "",
            "Try:",
            f"  export RMBC_TOKEN={pipeline.token}",
            f'  curl -sS -H "Authorization: Bearer $RMBC_TOKEN" -H "Content-Type: '
            f'application/fhir+json" --data-binary @{examples}/fhir/transaction-bundle.json {fhir}',
            f"  rmbc replay --url {pipeline.ingest_url} --token $RMBC_TOKEN {examples}/fhir/feed.ndjson",
            "",
        ]
    )


@contextlib.contextmanager
def _kafka() -> Iterator[KafkaSettings]:
    """KAFKA_BOOTSTRAP_SERVERS, else the running `rmbc broker`, else a broker started (and
    stopped) here."""
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        yield KafkaSettings()
        return
    broker = LocalBroker(DEFAULT_STATE_DIR)
    running = broker.status()
    if running:
        _say(f"using the running local broker at {running.bootstrap}")
        yield KafkaSettings(bootstrap_servers=running.bootstrap)
        return
    _say("starting a local Kafka broker")
    info = broker.start()
    try:
        yield KafkaSettings(bootstrap_servers=info.bootstrap)
    finally:
        broker.stop()


@contextlib.contextmanager
def _running(page: MailPage) -> Iterator[MailPage]:
    page.start()
    try:
        yield page
    finally:
        page.stop()


def _say(message: str) -> None:
    print(f"rmbc up: {message}", file=sys.stderr, flush=True)
