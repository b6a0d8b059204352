"""`rmbc topics create` against the real broker: every topic as its definition says, idempotent,
and an existing topic of another partition count is an error that says what to do."""

import asyncio
import os
import subprocess
import sys
import uuid

from shared.admin import TopicShape, topic_shape
from shared.settings import KafkaSettings
from shared.topics import TopicNames
from tests.support.kafka import create_topics


def topics_create(
    kafka: KafkaSettings, names: TopicNames, *args: str
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        **{f"RMBC_TOPIC_{k.upper()}": v for k, v in names.model_dump().items()},
    }
    return subprocess.run(
        [sys.executable, "-m", "services.cli", "topics", "create", *args],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


async def configs(kafka: KafkaSettings, topic: str) -> dict[str, str]:
    from aiokafka.admin import AIOKafkaAdminClient
    from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

    admin = AIOKafkaAdminClient(**kafka.aiokafka_options())
    await admin.start()
    try:
        (response,) = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic)]
        )
    finally:
        await admin.close()
    (_, _, _, _, entries) = response.resources[0]
    return {entry[0]: entry[1] for entry in entries}


def test_every_topic_is_created_with_its_partitions_and_retention_and_a_second_run_keeps_them(
    kafka_settings: KafkaSettings,
) -> None:
    names = TopicNames.with_suffix(uuid.uuid4().hex[:10])
    first = topics_create(kafka_settings, names, "--partitions", "5")
    assert first.returncode == 0, first.stderr
    assert first.stdout.count("created ") == len(names.all())
    for name in names.all():
        assert asyncio.run(topic_shape(kafka_settings, name)) == TopicShape(5, 1)
    kept = asyncio.run(configs(kafka_settings, names.clinical_events))
    assert kept["retention.ms"] == str(30 * 24 * 3600 * 1000)
    again = topics_create(kafka_settings, names, "--partitions", "5")
    assert again.returncode == 0 and again.stdout.count("exists ") == len(names.all())


def test_an_existing_topic_of_another_partition_count_is_an_error_naming_the_count_to_keep(
    kafka_settings: KafkaSettings,
) -> None:
    names = TopicNames.with_suffix(uuid.uuid4().hex[:10])
    asyncio.run(create_topics(kafka_settings, [names.clinical_events], partitions=2))
    refused = topics_create(kafka_settings, names)  # the local layout: 3 partitions
    assert refused.returncode == 1
    assert f"topic {names.clinical_events} has 2 partitions, its definition 3" in refused.stderr
    assert "--partitions 2" in refused.stderr
