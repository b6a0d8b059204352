"""The whole pipeline as real processes: mesh-sandbox, an SMTP sink, ingest, classifier, notifier.

Used by `rmbc demo` and the end-to-end tests. Kafka is given (a running broker); everything else is
started here on free loopback ports and stopped however the run ends.
"""

import asyncio
import contextlib
import json
import secrets
import signal
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

from services.broker import free_port
from services.demo.smtp_sink import SmtpSink
from services.demo.stack import (
    MESH_PASSWORD,
    MESH_SHARED_KEY,
    ManagedProcess,
    kafka_env,
    mesh_sandbox,
    rmbc_process,
)
from shared.admin import create_topics, group_lag
from shared.settings import KafkaSettings
from shared.topics import TopicLayout, TopicNames, topic_specs

# mesh-sandbox's fixed mailboxes: the trust sends from X26ABC1; GP practices receive at the others.
SENDER_MAILBOX = "X26ABC1"
GP_MAILBOXES = ("X26ABC2", "X26ABC3")
MESH_WORKFLOW = "TEST_WORKFLOW"


def directory_document(
    gp_practices: Mapping[str, str],
    cns_teams: Mapping[str, str],
    default_cns: str,
    mdt_lead: str | None = None,
) -> dict[str, object]:
    """The notifier's directory: GP practice ODS -> MESH mailbox, provider ODS -> CNS team (and
    its MDT lead, whom the worklist's escalation e-mails)."""
    lead = {"mdt_lead": {"name": "Breast MDT lead", "email": mdt_lead}} if mdt_lead else {}
    return {
        "gp_practices": {
            ods: {"name": f"Practice {ods}", "mesh_mailbox": box}
            for ods, box in gp_practices.items()
        },
        "providers": {
            ods: {
                "name": f"Trust {ods}",
                "cns_team": {"name": f"Breast CNS team, trust {ods}", "email": email, **lead},
            }
            for ods, email in cns_teams.items()
        },
        "fallback_cns_team": {"name": "Breast CNS team (regional)", "email": default_cns},
    }


@contextlib.contextmanager
def _signals_ignored() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may change signal handlers
        return
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class Pipeline:
    def __init__(
        self,
        work_dir: Path,
        kafka: KafkaSettings,
        topics: TopicNames,
        directory: dict[str, object],
        app_id: str = "rmbc-classifier",
        partitions: int = 3,
        layout: TopicLayout | None = None,
    ) -> None:
        self.work_dir = work_dir
        self.kafka = kafka
        self.topics = topics
        # the topics' shape: `partitions` on one broker unless a cluster's layout is given
        self.layout = layout or TopicLayout(partitions, replication_factor=1, min_insync_replicas=1)
        self.app_id = app_id
        self.token = secrets.token_urlsafe(16)
        self.logs = work_dir / "logs"
        self.directory_file = work_dir / "directory.json"
        self.directory_file.parent.mkdir(parents=True, exist_ok=True)
        self.directory_file.write_text(json.dumps(directory, indent=2))
        self.ingest_port, self.mllp_port = free_port(), free_port()
        self.classifier_port, self.notifier_port = free_port(), free_port()
        self.mesh = mesh_sandbox(self.logs)
        self.mesh.env["RMBC_RUN_DIR"] = str(work_dir)  # marks every process of this run
        self.smtp_spool = work_dir / "mail"  # one .eml file per e-mail received
        self.smtp = SmtpSink(spool=self.smtp_spool)
        self.services: dict[str, ManagedProcess] = {}

    @property
    def ingest_url(self) -> str:
        return f"http://127.0.0.1:{self.ingest_port}"

    @property
    def mesh_url(self) -> str:
        assert self.mesh.ready_url
        return self.mesh.ready_url.removesuffix("/health")

    def common_env(self) -> dict[str, str]:
        return {"RMBC_RUN_DIR": str(self.work_dir), **kafka_env(self.kafka, self.topics)}

    def service_env(self, name: str) -> dict[str, str]:
        env = self.common_env()
        if name == "ingest":
            env |= {
                "RMBC_INGEST_TOKENS": self.token,
                "RMBC_INGEST_ENVIRONMENT": "test",  # its patients carry test-range NHS numbers
                "RMBC_INGEST_HOST": "127.0.0.1",
                "RMBC_INGEST_PORT": str(self.ingest_port),
                "RMBC_INGEST_MLLP_PORT": str(self.mllp_port),
            }
        elif name == "classifier":
            env |= {
                "RMBC_CLASSIFIER_APP_ID": self.app_id,
                "RMBC_CLASSIFIER_WEB_PORT": str(self.classifier_port),
                "RMBC_CLASSIFIER_DATA_DIR": str(self.work_dir / "classifier-data"),
            }
        else:
            env |= {
                "RMBC_NOTIFIER_HTTP_PORT": str(self.notifier_port),
                "RMBC_NOTIFIER_GROUP_ID": f"{self.app_id}-notifier",
                "RMBC_MESH_URL": self.mesh_url,
                "RMBC_MESH_MAILBOX": SENDER_MAILBOX,
                "RMBC_MESH_PASSWORD": MESH_PASSWORD,
                "RMBC_MESH_SHARED_KEY": MESH_SHARED_KEY,
                "RMBC_MESH_WORKFLOW_ID": MESH_WORKFLOW,
                **self.mail_env(),
            }
        return env

    def mail_env(self) -> dict[str, str]:
        """The SMTP sink and the directory, as the notifier and the escalation loop read them."""
        return {
            "RMBC_SMTP_HOST": "127.0.0.1",
            "RMBC_SMTP_PORT": str(self.smtp.port),
            "RMBC_SMTP_STARTTLS": "false",
            "RMBC_SMTP_FROM": "rmbc-alerts@rmbc.invalid",
            "RMBC_DIRECTORY_FILE": str(self.directory_file),
        }

    def service(self, name: str) -> ManagedProcess:
        port = {
            "ingest": self.ingest_port,
            "classifier": self.classifier_port,
            "notifier": self.notifier_port,
        }[name]
        return rmbc_process(
            name, self.service_env(name), self.logs, f"http://127.0.0.1:{port}/readyz"
        )

    def start(self, timeout: float = 90.0) -> "Pipeline":
        asyncio.run(create_topics(self.kafka, topic_specs(self.topics, self.layout)))
        self.mesh.start(timeout)
        self.smtp.start()
        for name in ("notifier", "classifier", "ingest"):
            self.services[name] = self.service(name).start(timeout)
        return self

    def restart(self, name: str, *, crash: bool = False, timeout: float = 90.0) -> None:
        """Stop (or SIGKILL, when `crash`) one service and start it again."""
        old = self.services[name]
        old.kill() if crash else old.stop()
        self.services[name] = self.service(name).start(timeout)

    async def drained(self, timeout: float, quiet: float = 3.0) -> bool:
        """Wait until the classifier and the notifier have committed everything and stayed so
        for `quiet` seconds; False if that did not happen within `timeout`."""
        groups = [
            (self.app_id, self.topics.clinical_events),
            (f"{self.app_id}-notifier", self.topics.cancer_flags),
        ]
        deadline = time.monotonic() + timeout
        quiet_since: float | None = None
        while time.monotonic() < deadline:
            lags = [await group_lag(self.kafka, group, topic) for group, topic in groups]
            if all(lag == 0 for lag in lags):
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since >= quiet:
                    return True
            else:
                quiet_since = None
            await asyncio.sleep(0.5)
        return False

    def stop(self) -> None:
        """Stop every piece, newest first; one that fails to stop does not keep the rest running,
        and a second Ctrl-C or SIGTERM does not cut the clean-up short."""
        with _signals_ignored():
            self._stop_all()

    def _stop_all(self) -> None:
        pieces = [
            self.services[n] for n in ("ingest", "classifier", "notifier") if n in self.services
        ]
        failures: list[Exception] = []
        for stop in [*(piece.stop for piece in pieces), self.smtp.stop, self.mesh.stop]:
            try:
                stop()
            except Exception as error:  # raised below, once everything else has been stopped
                failures.append(error)
        if failures:
            raise failures[0]

    def __enter__(self) -> "Pipeline":
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()
