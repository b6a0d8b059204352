"""With its broker stopped, the worklist never says "saved": the action is refused with a clear
message, and nothing is recorded behind the person's back."""

import time
from collections.abc import Iterator

import httpx
import pytest

from services.broker import LocalBroker
from shared.settings import KafkaSettings
from tests.support.kafka import private_broker
from tests.support.worklist import (
    Worklist,
    csrf_of,
    fresh_topics,
    item_link,
    put,
    reviews_on_topic,
    signed_in,
    worklist_for_tests,
)
from tests.support.worklist_events import alert, flag


@pytest.fixture(scope="module")
def own_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalBroker]:
    with private_broker(tmp_path_factory.mktemp("worklist-broker")) as broker:
        yield broker


@pytest.fixture(scope="module")
def kafka(own_broker: LocalBroker) -> KafkaSettings:
    info = own_broker.status()
    assert info is not None
    return KafkaSettings(bootstrap_servers=info.bootstrap, client_id="rmbc-worklist-down")


@pytest.fixture(scope="module")
def worklist(tmp_path_factory: pytest.TempPathFactory, kafka: KafkaSettings) -> Iterator[Worklist]:
    topics = fresh_topics(kafka)
    put(kafka, topics.cancer_flags, flag("flag-d"))
    put(kafka, topics.alerts, alert("flag-d"))
    with worklist_for_tests(tmp_path_factory.mktemp("worklist"), kafka, topics,
                            {"RMBC_WORKLIST_REVIEW_SEND_TIMEOUT_SECONDS": "3"}) as running:  # fmt: skip
        yield running


def test_an_action_while_kafka_is_down_is_not_said_to_be_saved(
    own_broker: LocalBroker, worklist: Worklist, kafka: KafkaSettings
) -> None:
    with signed_in(worklist, "cns") as cns:
        link = item_link(cns.get("/").text)
        page = cns.get(link)
        data = {"csrf_token": csrf_of(page.text), "seen_review_id": "", "seen_revision": "1",
                "key_worker_name": "Ann Nurse", "key_worker_role": "Breast CNS"}  # fmt: skip
        answers: list[httpx.Response] = []
        own_broker.restart(
            while_down=lambda: answers.append(
                cns.post(f"{link}/acknowledged", data=data, timeout=30)
            )
        )
        (answer,) = answers
        assert answer.status_code == 503
        assert "Kafka did not confirm it stored your action" in answer.text
        assert "Saved" not in answer.text
        assert "No one has acted on this yet" in cns.get(link).text
        saved, deadline = False, time.monotonic() + 60
        while not saved and time.monotonic() < deadline:  # the producer reconnects meanwhile
            retried = cns.post(f"{link}/acknowledged", data=data, timeout=30)
            assert retried.status_code in (200, 503), retried.status_code
            saved = "Saved: Acknowledged" in retried.text
        assert saved, "the action was never saved once the broker was back"
    reviews = reviews_on_topic(kafka, worklist, 1)
    assert {(r.review_id, r.action) for r in reviews} == {(reviews[0].review_id, "acknowledged")}
    assert httpx.get(f"{worklist.url}/healthz").status_code == 200
