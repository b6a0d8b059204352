"""Reading what the pipeline wrote: whole topics up to their end (and, from shared, group lag)."""

from typing import Any

from aiokafka import ConsumerRecord

from shared.admin import records_to_end
from shared.settings import KafkaSettings


async def read_all(settings: KafkaSettings, topic: str) -> list[ConsumerRecord[Any, Any]]:
    """Everything on `topic` up to its end offsets at the time of the call."""
    return [record async for record in records_to_end(settings, topic)]
