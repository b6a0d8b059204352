"""Run `rmbc notifier` as a subprocess against the test broker, sandbox and SMTP server."""

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import orjson

from shared.codec import decode, encode
from shared.events import CancerFlag
from shared.settings import KafkaSettings
from shared.topics import TopicNames
from tests.support.kafka import produce, read_topic
from tests.support.mesh import MeshSandbox, free_port
from tests.unit.notifier.factory import CNS_EMAIL, GP_ODS, TRUST_ODS

RMBC = Path(sys.executable).parent / "rmbc"


def write_directory(path: Path, mesh: MeshSandbox) -> Path:
    path.write_bytes(
        orjson.dumps(
            {
                "gp_practices": {
                    GP_ODS: {"name": "The Densham Surgery", "mesh_mailbox": mesh.gp_mailbox}
                },
                "providers": {
                    TRUST_ODS: {
                        "name": "Example Hospitals NHS Foundation Trust",
                        "cns_team": {"name": "Breast CNS team", "email": CNS_EMAIL},
                    }
                },
            }
        )
    )
    return path


def notifier_env(
    kafka: KafkaSettings,
    topics: TopicNames,
    mesh: MeshSandbox,
    smtp_env: dict[str, str],
    directory: Path,
    **extra: str,
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RMBC_", "KAFKA_"))}
    env |= {
        "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "RMBC_TOPIC_CANCER_FLAGS": topics.cancer_flags,
        "RMBC_TOPIC_ALERTS": topics.alerts,
        "RMBC_TOPIC_REGISTRY_RECORDS": topics.registry_records,
        "RMBC_TOPIC_REGISTRY_RECORDS_V2": topics.registry_records_v2,
        "RMBC_TOPIC_DEAD_LETTER": topics.dead_letter,
        "RMBC_TOPIC_CLINICAL_EVENTS": topics.clinical_events,
        "RMBC_NOTIFIER_GROUP_ID": f"notifier-{topics.alerts}",
        "RMBC_NOTIFIER_HTTP_HOST": "127.0.0.1",
        "RMBC_NOTIFIER_HTTP_PORT": str(free_port()),
        "RMBC_NOTIFIER_SESSION_TIMEOUT_MS": "6000",
        "RMBC_NOTIFIER_RETRY_BASE_SECONDS": "0.2",
        "RMBC_DIRECTORY_FILE": str(directory),
        **mesh.env(),
        **smtp_env,
        **extra,
    }
    return env


class NotifierProcess:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.port = int(env["RMBC_NOTIFIER_HTTP_PORT"])
        self.log_path = log
        self._log = log.open("ab")
        self.process = subprocess.Popen(
            [str(RMBC), "notifier"], env=env, stdout=self._log, stderr=subprocess.STDOUT
        )

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                tail = self.log_path.read_text(errors="replace")[-3000:]
                raise AssertionError(f"notifier exited with {self.process.returncode}:\n{tail}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/readyz", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"notifier not ready within {timeout}s")

    def metrics(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=2) as r:
            return str(r.read().decode())

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


async def send_flag(kafka: KafkaSettings, topics: TopicNames, flag: CancerFlag) -> None:
    await produce(kafka, topics.cancer_flags, encode(flag), flag.patient_key.encode())


async def wait_events(
    kafka: KafkaSettings, topic: str, predicate: Any, count: int = 1, timeout: float = 30.0
) -> list[Any]:
    """Decoded events on `topic` once at least `count` of them satisfy `predicate`."""

    def matching(records: list[Any]) -> list[Any]:
        return [e for e in (decode(r.value) for r in records) if predicate(e)]

    records = await read_topic(
        kafka, topic, until=lambda rs: len(matching(rs)) >= count, timeout=timeout
    )
    return matching(records)


def mesh_inbox(mesh: MeshSandbox, mailbox: str) -> list[str]:
    with mesh.client(mailbox) as client:
        return list(client.list_messages())
