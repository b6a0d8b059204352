"""Poison on rmbc.cancer-flags.v1: the notifier dead-letters each record with its reason and carries
on with the good flag behind them (a real notifier process, broker, mesh-sandbox and SMTP server)."""

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.codec import encode
from shared.events import DeadLetter, Evidence, RegistryRecord
from shared.settings import KafkaSettings
from shared.topics import TopicNames
from tests.integration.notifier.harness import (
    NotifierProcess,
    notifier_env,
    wait_events,
    write_directory,
)
from tests.integration.poison.conftest import http_get, topics_with_limits
from tests.integration.poison.records import poison_records
from tests.support.kafka import produce
from tests.support.mesh import MeshSandbox
from tests.support.smtp import SmtpServer
from tests.unit.notifier.factory import NHS_NUMBER, flag

OTHER_NHS = "9434765870"


@pytest.fixture
def notifier(
    kafka_settings: KafkaSettings,
    topics: TopicNames,
    mesh: MeshSandbox,
    smtp_server: SmtpServer,
    tmp_path: Path,
) -> Iterator[NotifierProcess]:
    directory = write_directory(tmp_path / "directory.json", mesh)
    env = notifier_env(kafka_settings, topics, mesh, smtp_server.env(), directory)
    process = NotifierProcess(env, tmp_path / "notifier.log")
    try:
        process.wait_ready()
        yield process
    finally:
        process.stop()


async def test_each_poison_flag_is_dead_lettered_with_its_reason_and_the_next_flag_is_delivered(
    kafka_settings: KafkaSettings,
    topics: TopicNames,
    smtp_server: SmtpServer,
    notifier: NotifierProcess,
) -> None:
    good = flag()
    key = NHS_NUMBER.encode()
    poisons = poison_records(good, key)
    for poison in poisons:
        await produce(kafka_settings, topics.cancer_flags, poison.value, poison.key)
    await produce(kafka_settings, topics.cancer_flags, encode(good), key)

    dead = await wait_events(
        kafka_settings,
        topics.dead_letter,
        lambda event: isinstance(event, DeadLetter),
        count=len(poisons),
    )
    assert len(dead) == len(poisons)
    for poison, letter in zip(poisons, dead, strict=True):
        assert poison.reason in letter.reason, (poison.name, letter.reason)
        assert letter.service == "notifier"
        assert letter.original_topic == topics.cancer_flags
        assert base64.b64decode(letter.original_value) == poison.value

    (record,) = await wait_events(
        kafka_settings, topics.registry_records, lambda e: isinstance(e, RegistryRecord)
    )
    assert (record.flag_id, record.action) == (good.flag_id, "submit")
    (mail,) = smtp_server.wait_for(1)
    assert mail["Message-ID"].startswith("<") and notifier.process.poll() is None
    assert f"rmbc_notifier_dead_letters_total {float(len(poisons))}" in notifier.metrics()
    for path in (f"/table/patients/{NHS_NUMBER}/", "/router/", "/", "/stats/", "/docs"):
        status, body = http_get(f"http://127.0.0.1:{notifier.port}{path}")
        assert status == 404 and NHS_NUMBER.encode() not in body, path


REGISTRY_TOPIC_LIMIT = 6_000  # a usual registry record is about 1 KB


async def test_a_flag_whose_registry_record_the_broker_refuses_stops_the_notifier_once(
    kafka_settings: KafkaSettings, mesh: MeshSandbox, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    """Its registry record refused (a topic limit below the notifier's own), the flag stops the
    notifier; on the restart it is dead-lettered with the reason and the next flag goes through."""
    topics = await topics_with_limits(kafka_settings, {"registry_records": REGISTRY_TOPIC_LIMIT})
    directory = write_directory(tmp_path / "directory.json", mesh)
    env = notifier_env(
        kafka_settings,
        topics,
        mesh,
        smtp_server.env(),
        directory,
        RMBC_NOTIFIER_STATE_DIR=str(tmp_path / "state"),
    )
    evidence = [
        Evidence(reference=f"Condition/{'c' * 200}-{n}/_history/1", rule="secondary")
        for n in range(40)
    ]
    crafted, good = flag(key=OTHER_NHS, evidence=evidence), flag()
    first = NotifierProcess(env, tmp_path / "notifier-1.log")
    try:
        first.wait_ready()
        await produce(kafka_settings, topics.cancer_flags, encode(crafted), OTHER_NHS.encode())
        await produce(kafka_settings, topics.cancer_flags, encode(good), NHS_NUMBER.encode())
        first.process.wait(timeout=60)  # stopped by the refused record: the restart replays it
    finally:
        first.stop()
    second = NotifierProcess(env, tmp_path / "notifier-2.log")
    try:
        second.wait_ready()
        (letter,) = await wait_events(
            kafka_settings, topics.dead_letter, lambda e: isinstance(e, DeadLetter)
        )
        records = await wait_events(
            kafka_settings, topics.registry_records, lambda e: isinstance(e, RegistryRecord)
        )
        assert second.process.poll() is None
    finally:
        second.stop()
    assert letter.service == "notifier" and letter.original_offset == 0
    assert letter.reason.startswith("stopped the worker 1 time(s); last: MessageSizeTooLarge")
    # the good flag's record, sent again by the replay under the same id: none of the crafted flag
    assert {(r.flag_id, r.record_id) for r in records} == {(good.flag_id, records[0].record_id)}
