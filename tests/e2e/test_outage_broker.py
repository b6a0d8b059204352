"""The Kafka broker goes away and comes back. While it is away ingest refuses honestly (HTTP 503
within 5 s with Retry-After, a negative ACK over MLLP, never a 2xx or AA); the classifier and the
notifier stay up, wait, and resume by themselves when it returns (same processes, no restart).

The test owns its broker: stopping the session's would disturb every other test.
"""

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.broker import LocalBroker
from services.demo.feeder import MLLP_END, MLLP_START
from services.demo.pipeline import GP_MAILBOXES, Pipeline, directory_document
from shared.codec import decode_as
from shared.events import CancerFlag, RegistryRecord
from shared.settings import KafkaSettings
from shared.topics import TopicNames
from tests.e2e.conftest import CNS_TEAM, GP_PRACTICE, TRUST
from tests.e2e.test_walking_skeleton import ICD10, SCT, condition, gp_inbox, patient, post
from tests.support.kafka import read_topic
from tests.unit.ingest import hl7_samples

OUTAGE_SECONDS = 8.0  # long enough for consumers to lose their coordinator and fetches to fail


@pytest.fixture(scope="module")
def outage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalBroker, Pipeline]]:
    broker = LocalBroker(tmp_path_factory.mktemp("outage-broker"))
    info = broker.start()
    run = uuid.uuid4().hex[:8]
    directory = directory_document(
        gp_practices={GP_PRACTICE: GP_MAILBOXES[0]},
        cns_teams={TRUST: CNS_TEAM},
        default_cns=CNS_TEAM,
    )
    try:
        with Pipeline(
            Path(tmp_path_factory.mktemp("outage")),
            KafkaSettings(bootstrap_servers=info.bootstrap, client_id="rmbc-outage"),
            TopicNames.with_suffix(run),
            directory,
            app_id=f"rmbc-outage-{run}",
        ) as pipeline:
            yield broker, pipeline
    finally:
        broker.stop()


def mllp_ack(port: int, message: str, timeout: float = 15.0) -> str:
    async def exchange() -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(MLLP_START + message.encode() + MLLP_END)
            await writer.drain()
            return await asyncio.wait_for(reader.readuntil(MLLP_END), timeout)
        finally:
            writer.close()

    frame = asyncio.run(exchange()).strip(MLLP_START + MLLP_END).decode()
    msa = next(segment for segment in frame.split("\r") if segment.startswith("MSA|"))
    return msa.split("|")[1]


def post_until_accepted(
    pipeline: Pipeline, resource: dict[str, Any], deadline: float
) -> httpx.Response:
    while True:
        try:
            response = post(pipeline, resource)
            if response.status_code != 503 or time.monotonic() > deadline:
                return response
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.5)


def test_while_the_broker_is_down_nothing_is_acknowledged_and_afterwards_the_pipeline_resumes(
    outage: tuple[LocalBroker, Pipeline], tmp_path: Path
) -> None:
    broker, pipeline = outage
    consumers = {name: pipeline.services[name].process for name in ("classifier", "notifier")}
    primary = (ICD10, "C50.4")
    before = [
        patient(),
        condition("c-primary", "1", "2019-03-02T10:00:00Z", primary, "2019-03-01", "active"),
        condition("c-primary", "2", "2020-02-01T10:00:00Z", primary, "2019-03-01", "remission"),
    ]
    for resource in before:
        assert post(pipeline, resource).status_code in (200, 201)

    answers: list[tuple[str, str, float]] = []

    def while_down() -> None:
        down_since = time.monotonic()
        bone = condition("c-held", "1", "2024-06-01T10:00:00Z", (SCT, "94222008"), "2024-06-01", "active")  # fmt: skip
        while time.monotonic() - down_since < OUTAGE_SECONDS:
            began = time.monotonic()
            response = post(pipeline, bone)
            answers.append(("http", str(response.status_code), time.monotonic() - began))
            assert response.headers.get("Retry-After"), response.headers
            began = time.monotonic()
            control_id = f"OUT{len(answers)}"
            code = mllp_ack(pipeline.mllp_port, hl7_samples.oru(header=hl7_samples.msh(control_id=control_id)))  # fmt: skip
            answers.append(("mllp", code, time.monotonic() - began))
        for name, process in consumers.items():
            assert process is not None and process.poll() is None, f"{name} exited while down"

    broker.restart(while_down=while_down)

    http = [(status, seconds) for channel, status, seconds in answers if channel == "http"]
    mllp = [code for channel, code, _ in answers if channel == "mllp"]
    assert http and mllp
    assert {status for status, _ in http} == {"503"}, http
    assert max(seconds for _, seconds in http) < 5.0, http
    assert set(mllp) <= {"AE", "AR", "CE", "CR"}, mllp

    after = condition("c-bone", "1", "2024-06-10T10:00:00Z", (SCT, "94222008"), "2024-06-10", "active")  # fmt: skip
    response = post_until_accepted(pipeline, after, time.monotonic() + 60)
    assert response.status_code in (200, 201), response.text

    flags = asyncio.run(
        read_topic(
            pipeline.kafka, pipeline.topics.cancer_flags, until=lambda rs: len(rs) >= 1, timeout=90
        )
    )
    flag = decode_as(flags[-1].value, CancerFlag)
    assert (flag.state, flag.kind) == ("raised", "recurrence")
    records = asyncio.run(
        read_topic(
            pipeline.kafka,
            pipeline.topics.registry_records,
            until=lambda rs: len(rs) >= 1,
            timeout=60,
        )
    )
    assert decode_as(records[0].value, RegistryRecord).flag_id == flag.flag_id
    assert len(gp_inbox(pipeline, time.monotonic() + 60)) == 1
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not pipeline.smtp.mails:
        time.sleep(0.2)
    assert [mail.rcpt_tos for mail in pipeline.smtp.mails] == [[CNS_TEAM]]
    # the very processes that lived through the outage did the work
    for name, process in consumers.items():
        assert process is not None and pipeline.services[name].process is process, name
        assert process.poll() is None, f"{name} exited"
