"""`rmbc cosd export` reading the v2 registry topic on a real broker."""

import asyncio

from lxml import etree

from services.registry import cosd_cli
from tests.support.kafka import produce
from tests.unit.registry.records import NOVEMBER, record, three_patients

NS = "{urn:rmbc:cosd:v10}"


async def test_export_reads_the_months_records_from_the_v2_topic_and_nothing_else(
    kafka_settings, topics, tmp_path, monkeypatch
):
    october = three_patients()
    for r in [*october, record(key="9434765803", now=NOVEMBER)]:
        await produce(
            kafka_settings, topics.registry_records_v2, r.model_dump_json().encode(), None
        )
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_settings.bootstrap_servers)
    monkeypatch.setenv("RMBC_TOPIC_REGISTRY_RECORDS_V2", topics.registry_records_v2)
    out = tmp_path / "cosd-2026-10.xml"

    status = await asyncio.to_thread(
        cosd_cli.main, ["export", "--month", "2026-10", "--out", str(out)]
    )

    assert status == 0
    ids = [e.text for e in etree.parse(str(out)).getroot().iter(f"{NS}RecordId")]
    assert sorted(ids) == sorted(r.flag_id for r in october)
