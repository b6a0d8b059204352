"""The notifier publishes the COSD v10 record on rmbc.registry-records.v2 beside v1 (real broker,
real mesh-sandbox, real SMTP), and counts a record lacking a mandatory item on /metrics."""

import pytest

from shared.events import RegistryRecordV2
from tests.integration.notifier.harness import (
    NotifierProcess,
    notifier_env,
    send_flag,
    wait_events,
    write_directory,
)
from tests.support.kafka import read_topic
from tests.unit.notifier.factory import NHS_NUMBER, flag, patient


@pytest.fixture
def notifier(tmp_path, kafka_settings, topics, mesh, smtp_server):
    directory = write_directory(tmp_path / "directory.json", mesh)
    env = notifier_env(kafka_settings, topics, mesh, smtp_server.env(), directory)
    process = NotifierProcess(env, tmp_path / "notifier.log")
    process.wait_ready()
    yield process
    process.stop()


async def test_a_flag_without_a_birth_date_gives_a_v2_record_naming_cr0100_and_counted(
    kafka_settings, topics, notifier
):
    raised = flag(patient=patient(birth_date=None))
    await send_flag(kafka_settings, topics, raised)

    [v1] = await wait_events(kafka_settings, topics.registry_records, lambda e: True)
    records = await read_topic(kafka_settings, topics.registry_records_v2, until=lambda rs: rs)
    [v2] = [RegistryRecordV2.model_validate_json(r.value) for r in records]
    assert (v2.record_id, v2.action, v2.provenance) == (v1.record_id, "submit", "proposed")
    assert v2.cr0010_nhs_number == NHS_NUMBER and v2.cr0100_birth_date is None
    assert v2.incomplete_items == ["CR0100"]
    assert v2.recurrence is not None and v2.recurrence.cr9000_relapse_method is None
    metrics = notifier.metrics()
    assert 'rmbc_notifier_registry_records_incomplete_total{item="CR0100"} 1.0' in metrics
