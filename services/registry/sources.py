"""Where the registry side reads v2 records from: the registry topic, or a JSONL file offline."""

import asyncio
from collections.abc import Iterator
from pathlib import Path

from shared.admin import records_to_end
from shared.events import RegistryRecordV2
from shared.settings import KafkaSettings
from shared.topics import TopicNames


class UnreadableRecord(ValueError):
    """A line or message that is not a v2 registry record: named, never skipped."""


def records_from_jsonl(path: Path) -> Iterator[RegistryRecordV2]:
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                yield RegistryRecordV2.model_validate_json(line)
            except ValueError as error:
                raise UnreadableRecord(
                    f"{path}:{number}: not a v2 registry record: {error}"
                ) from None


def records_from_topic() -> list[RegistryRecordV2]:
    """Every record on the v2 registry topic up to its current end."""
    topic = TopicNames().registry_records_v2

    async def read() -> list[RegistryRecordV2]:
        held = []
        async for message in records_to_end(KafkaSettings(), topic):
            try:
                held.append(RegistryRecordV2.model_validate_json(message.value))
            except ValueError as error:
                where = f"{topic}[{message.partition}]@{message.offset}"
                raise UnreadableRecord(f"{where}: not a v2 registry record: {error}") from None
        return held

    return asyncio.run(read())


def read_records(jsonl: Path | None) -> list[RegistryRecordV2]:
    return list(records_from_jsonl(jsonl)) if jsonl is not None else records_from_topic()
