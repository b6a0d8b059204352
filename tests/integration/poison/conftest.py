"""A real classifier worker against the real broker, for the poison tests."""

import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from services.broker import free_port
from services.demo.stack import ManagedProcess, rmbc_process
from shared.settings import KafkaSettings
from shared.topics import TopicNames


async def topics_with_limits(settings: KafkaSettings, limits: dict[str, int]) -> TopicNames:
    """Fresh topics, those named in `limits` (by their TopicNames field) with that
    max.message.bytes: a broker refusing a record the service itself takes for a good size."""
    names = TopicNames.with_suffix(uuid.uuid4().hex[:10])
    sizes = {getattr(names, field): str(limit) for field, limit in limits.items()}
    admin = AIOKafkaAdminClient(**settings.aiokafka_options())
    await admin.start()
    try:
        await admin.create_topics(
            [
                NewTopic(
                    name,
                    num_partitions=1,
                    replication_factor=1,
                    topic_configs={"max.message.bytes": sizes[name]} if name in sizes else {},
                )
                for name in names.all()
            ]
        )
    finally:
        await admin.close()
    return names


def classifier_env(
    kafka_settings: KafkaSettings, topics: TopicNames, data_dir: Path, port: int
) -> dict[str, str]:
    return {
        "KAFKA_BOOTSTRAP_SERVERS": kafka_settings.bootstrap_servers,
        "RMBC_CLASSIFIER_APP_ID": f"poison-{uuid.uuid4().hex[:8]}",
        "RMBC_CLASSIFIER_WEB_PORT": str(port),
        "RMBC_CLASSIFIER_DATA_DIR": str(data_dir),
        **{f"RMBC_TOPIC_{k.upper()}": v for k, v in topics.model_dump().items()},
    }


@pytest.fixture
def classifier_port() -> int:
    return free_port()


@pytest.fixture
def classifier(
    kafka_settings: KafkaSettings, topics: TopicNames, tmp_path: Path, classifier_port: int
) -> Iterator[ManagedProcess]:
    """Started with the default bind address: the loopback interface."""
    env = classifier_env(kafka_settings, topics, tmp_path / "data", classifier_port)
    ready = f"http://127.0.0.1:{classifier_port}/readyz"
    process = rmbc_process("classifier", env, tmp_path, ready)
    process.start(timeout=60)
    yield process
    process.stop()


def http_get(url: str) -> tuple[int, bytes]:
    """Status and body of a GET, whatever the status."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
