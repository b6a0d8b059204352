"""`rmbc classifier --redrive` against the real broker and a running worker: the classifier's dead
letters go back on its input topic once each, and the event classifies (the issue's missed alert:
a Condition an earlier classifier dead-lettered for its lastUpdated in year one)."""

import json
import os
import subprocess
import sys
from datetime import UTC, datetime

from services.demo.stack import ManagedProcess
from shared.codec import decode_as, encode
from shared.dead_letter import dead_letter_for
from shared.events import CancerFlag
from shared.settings import KafkaSettings
from shared.topics import TopicNames
from tests.integration.poison.test_crafted_events import events_of, last_updated_in_year_one
from tests.support.kafka import produce, read_topic


def redrive(env: dict[str, str]) -> dict[str, int]:
    done = subprocess.run(
        [sys.executable, "-m", "services.cli", "classifier", "--redrive", "--json"],
        env=env,
        capture_output=True,
        timeout=60,
        check=True,
    )
    counts: dict[str, int] = json.loads(done.stdout.decode().strip().splitlines()[-1])
    return counts


async def test_the_classifiers_dead_letters_are_re_driven_once_and_then_classified(
    kafka_settings: KafkaSettings, topics: TopicNames, classifier: ManagedProcess
) -> None:
    case = last_updated_in_year_one()
    *earlier, dead_lettered = events_of(case)
    key = case.nhs.encode()
    for event in earlier:
        await produce(kafka_settings, topics.clinical_events, encode(event), key)
    letters = [
        dead_letter_for(
            service=service,
            reason="classification failed: OverflowError: date value out of range",
            value=encode(dead_lettered),
            key=key,
            topic=topics.clinical_events if service == "classifier" else topics.cancer_flags,
            partition=0,
            offset=2,
            now=datetime(2026, 12, 1, tzinfo=UTC),
        )
        for service in ("classifier", "notifier")
    ]
    for letter in letters:
        await produce(kafka_settings, topics.dead_letter, encode(letter), None)
    await produce(kafka_settings, topics.dead_letter, b"not a dead letter", None)

    env = {**os.environ, **classifier.env}
    assert redrive(env) == {"read": 3, "redriven": 1, "other": 1, "unreadable": 1}
    flags = await read_topic(
        kafka_settings, topics.cancer_flags, until=lambda r: len(r) >= 1, timeout=30
    )
    flag = decode_as(flags[0].value, CancerFlag)
    assert (flag.patient_key, flag.kind, str(flag.episode_date)) == (
        case.nhs,
        "recurrence",
        "2021-04-02",
    )
    assert redrive(env) == {"read": 0, "redriven": 0, "other": 0, "unreadable": 0}
