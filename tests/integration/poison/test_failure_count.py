"""An event whose flag the broker refuses stops the classifier once; on the restart it is
dead-lettered with the reason and the worker goes on (real worker, real broker, a flags topic whose
max.message.bytes is below the worker's own limit: a misconfiguration the worker cannot see)."""

from pathlib import Path

from services.broker import free_port
from services.demo.stack import rmbc_process
from shared.codec import decode_as, encode
from shared.events import CancerFlag, DeadLetter, PatientContext
from shared.settings import KafkaSettings
from tests.integration.poison.conftest import classifier_env, topics_with_limits
from tests.integration.poison.test_classifier_poison import bone_recurrence
from tests.scenarios.build import ICD, Case
from tests.support.kafka import produce, read_topic
from tests.unit.classifier.events import clinical_event

# A normal flag is about 1,500 bytes, one with the longest demographics the state keeps about 2,250.
FLAGS_TOPIC_LIMIT = 1_800


async def test_an_event_that_stopped_the_worker_is_dead_lettered_on_the_restart(
    kafka_settings: KafkaSettings, tmp_path: Path
) -> None:
    topics = await topics_with_limits(kafka_settings, {"cancer_flags": FLAGS_TOPIC_LIMIT})
    port = free_port()
    env = classifier_env(kafka_settings, topics, tmp_path / "data", port)
    worker = rmbc_process("classifier", env, tmp_path, f"http://127.0.0.1:{port}/readyz")
    worker.start(timeout=60)

    crafted = Case(905).patient().remitted_primary().condition("met", (ICD, "C79.5"), "2021-04-02")
    long_names = PatientContext(
        nhs_number=crafted.nhs, provider_ods="RX1", family_name="F" * 5_000, given_names="G" * 5_000
    )
    for resource in crafted.resources[1:]:
        event = clinical_event(resource, crafted.nhs).model_copy(update={"patient": long_names})
        await produce(kafka_settings, topics.clinical_events, encode(event), crafted.nhs.encode())
    nhs, normal = bone_recurrence()
    for event in normal:
        await produce(kafka_settings, topics.clinical_events, encode(event), nhs.encode())

    assert worker.process is not None
    worker.process.wait(timeout=60)  # the refused flag stops the worker: the restart replays it

    worker.start(timeout=60)  # the same group and data directory: the restart of a crash
    try:
        flags = await read_topic(
            kafka_settings, topics.cancer_flags, until=lambda r: len(r) >= 1, timeout=60
        )
        (letter,) = [
            decode_as(r.value, DeadLetter)
            for r in await read_topic(
                kafka_settings, topics.dead_letter, until=lambda r: len(r) >= 1, timeout=30
            )
        ]
        assert worker.running
    finally:
        worker.stop()
    assert [decode_as(r.value, CancerFlag).patient_key for r in flags] == [nhs]
    assert letter.service == "classifier" and letter.original_offset == 2  # the secondary
    assert letter.reason.startswith("stopped the worker 1 time(s); last: MessageSizeTooLarge")
