"""Kafka metadata the services need: which partitions a topic has."""

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from shared.settings import KafkaSettings


async def topic_partitions(settings: KafkaSettings, topic: str) -> list[TopicPartition]:
    """The topic's partitions, or none when the topic does not exist (yet)."""
    admin = AIOKafkaAdminClient(**settings.aiokafka_options())
    await admin.start()
    try:
        (description,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    if description["error_code"]:
        return []
    return sorted(TopicPartition(topic, p["partition"]) for p in description["partitions"])
