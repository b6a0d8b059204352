"""The classifier's start-up check: its table takes its partitions and replication from the input
topic, and a changelog made for another partition count stops the start with the fix.

A faust table is partitioned like the topic it is keyed from: patient P's state lives in the
changelog partition of P's input partition. A changelog of N partitions next to an input topic of
M != N makes faust stop on its first event (PartitionsMismatch), after the worker said it was
ready; this check says it before, once, with what to do."""

from dataclasses import dataclass

from services.classifier.settings import ClassifierSettings
from shared.admin import TopicShape, topic_shape

TABLE = "patients"


class StartRefused(RuntimeError):
    """The classifier cannot start with these topics; the message names the fix."""


@dataclass(frozen=True)
class TableLayout:
    partitions: int
    replication_factor: int


def changelog_topic(app_id: str) -> str:
    """faust's name for a table's changelog topic: `<app id>-<table>-changelog`."""
    return f"{app_id}-{TABLE}-changelog"


def table_layout(
    settings: ClassifierSettings, events: TopicShape | None, changelog: TopicShape | None
) -> TableLayout:
    """The table's layout from the input topic's shape, or StartRefused naming the fix."""
    topic = settings.topics.clinical_events
    if events is None:
        raise StartRefused(
            f"the input topic {topic} does not exist on {settings.kafka.bootstrap_servers}: "
            "create the topics first with `rmbc topics create` (rmbc broker start and rmbc up "
            "do it)"
        )
    name = changelog_topic(settings.app_id)
    if changelog is not None and changelog.partitions != events.partitions:
        raise StartRefused(
            f"the table's changelog {name} has {changelog.partitions} partitions but the input "
            f"topic {topic} has {events.partitions}: patients' stored state cannot be moved "
            "between partitions. Either give the input topic back its "
            f"{changelog.partitions} partitions (recreate the topics, before any data matters), "
            "or start under a new RMBC_CLASSIFIER_APP_ID, which rebuilds the state by reading "
            f"{topic} from its beginning (as far as its retention reaches; docs/operations.md)"
        )
    return TableLayout(events.partitions, events.replication_factor)


async def read_table_layout(settings: ClassifierSettings) -> TableLayout:
    events = await topic_shape(settings.kafka, settings.topics.clinical_events)
    changelog = await topic_shape(settings.kafka, changelog_topic(settings.app_id))
    return table_layout(settings, events, changelog)
