"""The classifier's start-up check of its topics: pure, from the shapes the broker reported."""

import pytest
from faust.exceptions import PartitionsMismatch

from services.classifier.main import redrive_summary
from services.classifier.settings import ClassifierSettings
from services.classifier.stream.corrections.metadata_fault import broker_metadata_fault
from services.classifier.stream.topic_check import (
    StartRefused,
    TableLayout,
    changelog_topic,
    table_layout,
)
from shared.admin import TopicShape

SETTINGS = ClassifierSettings(app_id="rmbc-classifier")


def test_the_table_takes_the_input_topics_partitions_and_replication() -> None:
    assert table_layout(SETTINGS, TopicShape(12, 3), None) == TableLayout(12, 3)
    assert table_layout(SETTINGS, TopicShape(12, 3), TopicShape(12, 3)) == TableLayout(12, 3)


def test_a_missing_input_topic_refuses_the_start_and_names_rmbc_topics_create() -> None:
    with pytest.raises(StartRefused, match=r"does not exist.*rmbc topics create"):
        table_layout(SETTINGS, None, None)


def test_a_changelog_of_another_partition_count_refuses_the_start_naming_both_fixes() -> None:
    with pytest.raises(StartRefused) as refused:
        table_layout(SETTINGS, TopicShape(1, 1), TopicShape(3, 1))
    message = str(refused.value)
    assert "rmbc-classifier-patients-changelog has 3 partitions" in message
    assert "rmbc.clinical-events.v1 has 1" in message
    assert "RMBC_CLASSIFIER_APP_ID" in message and "recreate the topics" in message


def test_the_changelog_is_named_as_faust_names_a_tables_changelog() -> None:
    assert changelog_topic("rmbc-classifier") == "rmbc-classifier-patients-changelog"


def test_the_redrive_summary_says_what_went_back_and_what_was_left_in_words() -> None:
    summary = redrive_summary(
        {"read": 3, "redriven": 1, "other": 1, "unreadable": 1}, "rmbc.clinical-events.v1"
    )
    assert summary.splitlines() == [
        "read 3 dead letter(s) not re-driven before",
        "  1 put back on rmbc.clinical-events.v1, to be classified again",
        "  1 left alone: not from rmbc.clinical-events.v1",
        "  1 unreadable: not a dead letter rmbc wrote",
    ]


def test_a_partition_mismatch_met_while_running_is_a_broker_fault_not_the_events() -> None:
    mismatch = PartitionsMismatch("The changelog topic 'x' has 0 partitions.")
    assert broker_metadata_fault(mismatch)
    assert not broker_metadata_fault(ValueError("a rule failed on this resource"))
