"""A real classifier worker against the real broker, for the poison tests."""

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.broker import free_port
from services.demo.stack import ManagedProcess, rmbc_process
from shared.settings import KafkaSettings
from shared.topics import TopicNames


def classifier_env(
    kafka_settings: KafkaSettings, topics: TopicNames, data_dir: Path, port: int
) -> dict[str, str]:
    return {
        "KAFKA_BOOTSTRAP_SERVERS": kafka_settings.bootstrap_servers,
        "RMBC_CLASSIFIER_APP_ID": f"poison-{uuid.uuid4().hex[:8]}",
        "RMBC_CLASSIFIER_WEB_PORT": str(port),
        "RMBC_CLASSIFIER_DATA_DIR": str(data_dir),
        "RMBC_CLASSIFIER_PARTITIONS": "1",
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
