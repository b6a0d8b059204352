"""The classifier worker as a real process, and the scenario events with the flags an
uninterrupted run of the pure core makes of them: shared by the classifier's integration tests."""

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx

from services.broker import free_port
from services.classifier.core import handle
from services.classifier.flags import FlagContext
from services.classifier.state import PatientState
from services.classifier.terminology import load_terminology
from shared.admin import group_lag
from shared.codec import decode_as
from shared.events import CancerFlag, ClinicalEvent
from shared.settings import KafkaSettings
from shared.topics import TopicNames
from tests.scenarios.build import SCENARIOS, Case
from tests.unit.classifier.events import clinical_event


class Worker:
    def __init__(self, env: dict[str, str], port: int, log: Path, cwd: Path | None = None) -> None:
        self.env, self.port, self.log, self.cwd = env, port, log, cwd
        self.process: subprocess.Popen[bytes] | None = None

    @classmethod
    def for_topics(cls, kafka: KafkaSettings, topics: TopicNames, folder: Path) -> "Worker":
        """A worker of its own group on `topics` (its table partitioned as their input topic),
        its data and log in `folder`; not started."""
        port = free_port()
        return cls(
            {
                **os.environ,
                "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
                "RMBC_CLASSIFIER_APP_ID": f"classifier-test-{uuid.uuid4().hex[:8]}",
                "RMBC_CLASSIFIER_WEB_PORT": str(port),
                "RMBC_CLASSIFIER_WEB_HOST": "127.0.0.1",
                "RMBC_CLASSIFIER_DATA_DIR": str(folder / "data"),
                **{f"RMBC_TOPIC_{k.upper()}": v for k, v in topics.model_dump().items()},
            },
            port,
            folder / "classifier.log",
        )

    def another(self, folder: Path) -> "Worker":
        """One more worker of this one's group, its data and log in `folder`; not started."""
        folder.mkdir(parents=True, exist_ok=True)
        port = free_port()
        env = self.env | {
            "RMBC_CLASSIFIER_WEB_PORT": str(port),
            "RMBC_CLASSIFIER_DATA_DIR": str(folder / "data"),
        }
        return Worker(env, port, folder / "classifier.log")

    @property
    def group(self) -> str:
        return self.env["RMBC_CLASSIFIER_APP_ID"]

    def launch(self) -> subprocess.Popen[bytes]:
        """Start the process without waiting for it to be ready."""
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "services.cli", "classifier"],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.cwd,
            )
        return self.process

    def start(self, timeout: float = 60.0) -> "Worker":
        self.launch()
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/readyz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"classifier not ready in {timeout}s:\n{self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def scenario_events(count: int, copies: int = 1) -> list[ClinicalEvent]:
    """The first `count` scenarios' events; `copies` times over, each copy its own patients."""
    events = []
    for copy in range(copies):
        for index, (_, build, _) in enumerate(SCENARIOS[:count]):
            case = build(Case(copy * len(SCENARIOS) + index + 1))
            for resource in case.resources:
                if resource["resourceType"] != "Patient":
                    events.append(clinical_event(resource, case.nhs))
    return events


def uninterrupted(events: list[ClinicalEvent]) -> set[tuple[str, int, str, str]]:
    states: dict[str, PatientState] = {}
    found = set()
    terms = load_terminology()
    for event in events:
        context = FlagContext(event.patient_key, datetime.now(UTC), event.occurred_at, "x")
        change = handle(
            states.get(event.patient_key, PatientState()),
            event.resource,
            event.patient,
            terms,
            context,
        )
        states[event.patient_key] = change.state
        found |= {(f.flag_id, f.revision, f.state, f.kind) for f in change.flags}
    return found


def flag_set(records: list) -> set[tuple[str, int, str, str]]:
    flags = [decode_as(r.value, CancerFlag) for r in records]
    return {(f.flag_id, f.revision, f.state, f.kind) for f in flags}


def assert_same_flags(
    seen: set[tuple[str, int, str, str]], expected: set[tuple[str, int, str, str]], logs: object
) -> None:
    assert seen == expected, (
        f"{len(expected - seen)} flags missing, {len(seen - expected)} unexpected; logs in {logs}"
    )


async def wait_all_committed(
    kafka: KafkaSettings, group: str, topic: str, logs: object, timeout: float
) -> None:
    """Until `group` has committed every record of `topic`: commits did not stop."""
    deadline = time.monotonic() + timeout
    while (lag := await group_lag(kafka, group, topic)) != 0:
        assert time.monotonic() < deadline, f"commits stopped {lag} short; logs in {logs}"
        await asyncio.sleep(0.5)
