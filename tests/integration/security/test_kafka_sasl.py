"""Kafka credentials through settings: a second local broker whose extra listener requires
SASL/PLAIN. The ingest publisher and a consumer get in with the right password and are refused
with a wrong one, and ingest answers no 2xx while it cannot authenticate."""

import logging
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError

from services.broker import ExtraListener, LocalBroker, free_port
from services.ingest.errors import BrokerUnavailable
from services.ingest.fhir.auth import TokenVerifier, token_hashes
from services.ingest.main import build_app
from services.ingest.publisher import KafkaPublisher
from services.ingest.settings import IngestSettings
from shared.settings import KafkaSettings
from shared.topics import TopicNames
from tests.support.kafka import create_topics, read_topic
from tests.unit.ingest.samples import condition

USER, PASSWORD = "rmbc-ingest", "sasl-password-for-tests"
TOKEN = "sasl-tier-bearer-token-0001"
AUTHENTICATION_FAILED = (
    "SaslAuthenticationFailed: Authentication failed: Invalid username or password"
)


@pytest.fixture(scope="module")
def sasl_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    listener = ExtraListener(
        name="SASL",
        port=port,
        protocol="SASL_PLAINTEXT",
        properties=(
            "sasl.enabled.mechanisms=PLAIN\n"
            "listener.name.sasl.sasl.enabled.mechanisms=PLAIN\n"
            "listener.name.sasl.plain.sasl.jaas.config="
            "org.apache.kafka.common.security.plain.PlainLoginModule required "
            f'user_{USER}="{PASSWORD}";\n'
        ),
    )
    broker = LocalBroker(Path(tmp_path_factory.mktemp("sasl-broker")), heap="384m")
    broker.start(extra=listener)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        broker.stop()


def sasl_settings(bootstrap: str, password: str) -> KafkaSettings:
    return KafkaSettings(
        bootstrap_servers=bootstrap,
        client_id="rmbc-sasl-tests",
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism="PLAIN",
        sasl_username=USER,
        sasl_password=password,  # type: ignore[arg-type]
    )


async def test_the_publisher_and_a_consumer_with_the_right_password_get_in(
    sasl_bootstrap: str,
) -> None:
    settings = sasl_settings(sasl_bootstrap, PASSWORD)
    topic = f"rmbc.sasl-{uuid.uuid4().hex[:8]}"
    await create_topics(settings, [topic])
    publisher = KafkaPublisher(settings, timeout=5)
    await publisher.start()
    try:
        assert await publisher.wait_connected(30)
        await publisher.publish(topic, [(b"9434765919", b'{"checked": "sasl"}')])
        assert await publisher.ready()
    finally:
        await publisher.stop()
    records = await read_topic(settings, topic, until=lambda found: len(found) >= 1, timeout=20)
    assert [(r.key, r.value) for r in records] == [(b"9434765919", b'{"checked": "sasl"}')]


async def test_a_consumer_with_a_wrong_password_is_refused_with_an_authentication_error(
    sasl_bootstrap: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    consumer = AIOKafkaConsumer(
        "rmbc.anything", **sasl_settings(sasl_bootstrap, "not-the-password").aiokafka_options()
    )
    with pytest.raises(KafkaError):
        await consumer.start()
    await consumer.stop()
    assert any(AUTHENTICATION_FAILED in r.getMessage() for r in caplog.records)


async def test_the_publisher_with_a_wrong_password_never_connects_and_says_why(
    sasl_bootstrap: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    publisher = KafkaPublisher(
        sasl_settings(sasl_bootstrap, "not-the-password"), timeout=2, reconnect_every=0.5
    )
    await publisher.start()
    try:
        assert not await publisher.wait_connected(6)
        assert not await publisher.ready()
        with pytest.raises(BrokerUnavailable):
            await publisher.publish("rmbc.anything", [(b"k", b"v")])
    finally:
        await publisher.stop()
    # the client library's log line says what is wrong; ingest's says it keeps trying
    messages = [r.getMessage() for r in caplog.records]
    assert any(AUTHENTICATION_FAILED in m for m in messages), messages
    assert "kafka not reachable, retrying" in messages


async def test_ingest_with_a_wrong_kafka_password_answers_503_never_2xx(
    sasl_bootstrap: str,
) -> None:
    settings = IngestSettings(
        kafka=sasl_settings(sasl_bootstrap, "not-the-password"),
        topics=TopicNames.with_suffix(uuid.uuid4().hex[:8]),
        publish_timeout_seconds=1,
        environment="test",  # the request's patient carries a test-range NHS number
    )
    app = build_app(settings, TokenVerifier(token_hashes(TOKEN)), with_mllp=False)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://ingest") as client,
    ):
        response = await client.post(
            "/fhir/Condition",
            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/fhir+json"},
            content=orjson.dumps(condition()),
        )
        ready = await client.get("/readyz")
    assert response.status_code == 503
    assert response.headers["retry-after"]
    assert ready.status_code == 503
