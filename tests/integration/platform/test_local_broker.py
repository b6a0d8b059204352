"""The local broker recipe itself: start, status, stop, cached jars, clear errors."""

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest

from services.broker import BrokerError, LocalBroker, kafka_libs, require_tools
from shared.admin import TopicShape, topic_shape
from shared.settings import KafkaSettings
from shared.topics import LOCAL, TopicNames, topic_specs
from tests.support.kafka import produce, read_topic


def test_a_broker_starts_answers_and_stops_leaving_no_process(tmp_path: Path) -> None:
    broker = LocalBroker(tmp_path)
    info = broker.start()
    try:
        assert broker.status() == info
        assert Path(info.log_file).exists()
        assert info.bootstrap.startswith("127.0.0.1:")
    finally:
        assert broker.stop() is True
    assert broker.status() is None
    assert (
        not Path(f"/proc/{info.pid}").exists() or "Z" in Path(f"/proc/{info.pid}/stat").read_text()
    )


def test_the_cli_creates_the_topics_says_what_to_export_and_status_names_the_log(
    tmp_path: Path,
) -> None:
    rmbc = [sys.executable, "-m", "services.cli", "broker"]
    state = ["--state-dir", str(tmp_path)]
    started = subprocess.run([*rmbc, "start", *state], capture_output=True, text=True, timeout=120)
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        export = started.stdout.strip().splitlines()[-1].strip()
        assert export.startswith("export KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:")
        bootstrap = export.removeprefix("export KAFKA_BOOTSTRAP_SERVERS=")
        kafka = KafkaSettings(bootstrap_servers=bootstrap)
        for spec in topic_specs(TopicNames(), LOCAL):
            assert asyncio.run(topic_shape(kafka, spec.name)) == TopicShape(
                spec.partitions, spec.replication_factor
            )
        status = subprocess.run([*rmbc, "status", *state], capture_output=True, text=True)
        assert status.returncode == 0
        assert bootstrap in status.stdout
        assert str(tmp_path / "broker.log") in status.stdout
    finally:
        stopped = subprocess.run([*rmbc, "stop", *state], capture_output=True, text=True)
    assert stopped.stdout.strip() == "stopped"
    after = subprocess.run([*rmbc, "status", *state], capture_output=True, text=True)
    assert after.returncode == 1 and "not running" in after.stdout


def pinned_kafka_version() -> str:
    pom = ElementTree.parse(Path(__file__).parents[3] / "deploy" / "kafka" / "pom.xml")
    version = pom.find("{http://maven.apache.org/POM/4.0.0}properties/"
                       "{http://maven.apache.org/POM/4.0.0}kafka.version")  # fmt: skip
    assert version is not None and version.text
    return version.text


def test_cached_jars_are_reused_without_maven(monkeypatch: pytest.MonkeyPatch) -> None:
    first = kafka_libs()
    monkeypatch.setenv("PATH", "/nonexistent")  # no mvn reachable: must not be needed
    assert kafka_libs() == first
    assert any(first.glob(f"kafka_2.13-{pinned_kafka_version()}.jar"))


def test_missing_java_or_maven_is_a_clear_error_saying_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(BrokerError, match=r"java and mvn not found.*apt-get install"):
        require_tools()


async def test_the_session_broker_takes_and_returns_a_record(
    kafka_settings: KafkaSettings, topics
) -> None:
    await produce(kafka_settings, topics.clinical_events, b'{"hello": 1}', key=b"k")
    records = await read_topic(
        kafka_settings, topics.clinical_events, until=lambda rs: len(rs) >= 1
    )
    assert records[0].value == b'{"hello": 1}' and records[0].key == b"k"


def test_kafka_bootstrap_servers_in_the_environment_is_what_settings_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(os.environ, "KAFKA_BOOTSTRAP_SERVERS", "10.0.0.1:9092,10.0.0.2:9092")
    settings = KafkaSettings()
    assert settings.aiokafka_options()["bootstrap_servers"] == "10.0.0.1:9092,10.0.0.2:9092"
    assert settings.faust_broker_url() == "kafka://10.0.0.1:9092;kafka://10.0.0.2:9092"
