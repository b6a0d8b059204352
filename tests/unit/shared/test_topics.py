"""The one topic definition: every contract topic, the layout's shape, each role's retention."""

import pytest

from shared.topics import CLUSTER, DAY_MS, LOCAL, TopicLayout, TopicNames, topic_specs


def test_every_contract_topic_is_defined_once_with_the_layouts_shape() -> None:
    specs = topic_specs(TopicNames(), CLUSTER)
    assert [spec.name for spec in specs] == TopicNames().all()
    for spec in specs:
        assert (spec.partitions, spec.replication_factor) == (12, 3)
        assert spec.config["min.insync.replicas"] == "2"


def retention_days() -> dict[str, int]:
    return {
        spec.role: int(spec.config["retention.ms"]) // DAY_MS
        for spec in topic_specs(TopicNames(), LOCAL)
    }


def test_the_input_is_kept_thirty_days_and_the_registry_a_year() -> None:
    retention = retention_days()
    assert retention["clinical_events"] == 30
    assert retention["registry_records"] == retention["registry_records_v2"] == 365


def test_the_flags_and_alerts_the_worklist_rebuilds_from_are_kept_as_long_as_the_reviews() -> None:
    retention = retention_days()
    assert retention["cancer_flags"] == retention["alerts"] == retention["reviews"] == 3650


@pytest.mark.parametrize(
    ("partitions", "replicas", "in_sync"), [(0, 1, 1), (3, 0, 1), (3, 1, 2), (3, 3, 0)]
)
def test_a_layout_that_cannot_exist_is_refused(
    partitions: int, replicas: int, in_sync: int
) -> None:
    with pytest.raises(ValueError):
        TopicLayout(partitions, replicas, in_sync)
