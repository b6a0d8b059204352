"""Poison on rmbc.clinical-events.v1: the classifier dead-letters each record with its reason and
carries on with the good record behind them (a real worker process against the real broker)."""

import base64

from services.demo.stack import ManagedProcess
from shared.codec import decode_as, encode
from shared.events import CancerFlag, ClinicalEvent, DeadLetter
from shared.settings import KafkaSettings
from shared.topics import TopicNames
from tests.integration.poison.conftest import http_get
from tests.integration.poison.records import poison_records
from tests.scenarios.build import SCENARIOS, Case
from tests.support.kafka import produce, read_topic
from tests.unit.classifier.events import clinical_event


def bone_recurrence() -> tuple[str, list[ClinicalEvent]]:
    """The first labelled scenario (a bone secondary after remission): it raises one flag."""
    _, build, _ = SCENARIOS[0]
    case = build(Case(1))
    return case.nhs, [
        clinical_event(resource, case.nhs)
        for resource in case.resources
        if resource["resourceType"] != "Patient"
    ]


async def test_each_poison_record_is_dead_lettered_with_its_reason_and_the_next_event_is_classified(
    kafka_settings: KafkaSettings,
    topics: TopicNames,
    classifier: ManagedProcess,
    classifier_port: int,
) -> None:
    nhs, events = bone_recurrence()
    key = nhs.encode()
    poisons = poison_records(events[0], key)
    for poison in poisons:
        await produce(kafka_settings, topics.clinical_events, poison.value, poison.key)
    for event in events:
        await produce(kafka_settings, topics.clinical_events, encode(event), key)

    letters = await read_topic(
        kafka_settings,
        topics.dead_letter,
        until=lambda records: len(records) >= len(poisons),
        timeout=30,
    )
    dead = [decode_as(record.value, DeadLetter) for record in letters]
    assert len(dead) == len(poisons)
    for poison, letter in zip(poisons, dead, strict=True):
        assert poison.reason in letter.reason, (poison.name, letter.reason)
        assert letter.service == "classifier"
        assert letter.original_topic == topics.clinical_events
        assert base64.b64decode(letter.original_value) == poison.value
        assert letter.original_key == (base64.b64encode(key).decode() if poison.key else None)

    flags = await read_topic(
        kafka_settings, topics.cancer_flags, until=lambda records: len(records) >= 1, timeout=30
    )
    flag = decode_as(flags[0].value, CancerFlag)
    assert (flag.patient_key, flag.state, flag.kind) == (nhs, "raised", "recurrence")
    assert classifier.running
    url = f"http://127.0.0.1:{classifier_port}/metrics"
    status, metrics = http_get(url)
    assert status == 200
    assert f"rmbc_classifier_dead_letters_total {float(len(poisons))}".encode() in metrics
