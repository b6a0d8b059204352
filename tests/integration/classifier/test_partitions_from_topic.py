"""The classifier takes its table's partitions from its input topic, whatever the count, keeps its
state under RMBC_STATE_DIR when started from any directory, and refuses to start, naming the fix,
when its changelog was made for another count."""

import asyncio
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from services.classifier.stream.topic_check import changelog_topic
from shared.codec import encode
from shared.settings import KafkaSettings
from shared.topics import TopicNames
from tests.integration.classifier.worker import Worker, flag_set, scenario_events, uninterrupted
from tests.support.kafka import create_topics, produce, read_topic


@pytest.mark.parametrize("partitions", [1, 3, 12])
async def test_a_classifier_started_from_another_directory_classifies_on_topics_of_any_partitions(
    kafka_settings: KafkaSettings, tmp_path: Path, partitions: int
) -> None:
    topics = TopicNames.with_suffix(uuid.uuid4().hex[:10])
    await create_topics(kafka_settings, topics.all(), partitions)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    worker = Worker.for_topics(kafka_settings, topics, tmp_path)
    del worker.env["RMBC_CLASSIFIER_DATA_DIR"]  # the default: under RMBC_STATE_DIR
    worker.env["RMBC_STATE_DIR"] = str(tmp_path / "state")
    worker.cwd = elsewhere
    events = scenario_events(4)
    expected = uninterrupted(events)
    try:
        worker.start()
        for event in events:
            key = event.patient_key.encode()
            await produce(kafka_settings, topics.clinical_events, encode(event), key)
        records = await read_topic(
            kafka_settings, topics.cancer_flags, until=lambda r: flag_set(r) >= expected
        )
        assert worker.process is not None and worker.process.poll() is None, worker.log.read_text()
    finally:
        worker.stop()
    assert flag_set(records) == expected
    assert (tmp_path / "state" / "classifier").is_dir()
    assert not (elsewhere / ".rmbc").exists()


def test_a_changelog_of_another_partition_count_stops_the_start_and_names_the_fix(
    kafka_settings: KafkaSettings, tmp_path: Path
) -> None:
    topics = TopicNames.with_suffix(uuid.uuid4().hex[:10])
    asyncio.run(create_topics(kafka_settings, topics.all(), partitions=1))
    worker = Worker.for_topics(kafka_settings, topics, tmp_path)
    asyncio.run(create_topics(kafka_settings, [changelog_topic(worker.group)], partitions=3))
    refused = subprocess.run(
        [sys.executable, "-m", "services.cli", "classifier"],
        env=worker.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2
    assert "has 3 partitions but the input topic" in refused.stderr
    assert "RMBC_CLASSIFIER_APP_ID" in refused.stderr
