"""The faust agent through its test context: flags only on change, undecodable events dead-lettered."""

import asyncio
import json
import time
from collections.abc import Iterator
from unittest.mock import AsyncMock, patch

import pytest
from aiokafka.errors import KafkaError

from services.classifier.settings import ClassifierSettings
from services.classifier.stream.app import Classifier, create_app
from services.classifier.stream.pages import readiness
from services.classifier.stream.topic_check import TableLayout
from shared.codec import decode_as, encode
from shared.events import CancerFlag, DeadLetter
from tests.scenarios.build import ICD, Case
from tests.unit.classifier.events import clinical_event


@pytest.fixture
def classifier(tmp_path) -> Iterator[Classifier]:
    settings = ClassifierSettings(app_id="classifier-agent-test", data_dir=tmp_path)
    built = create_app(settings, TableLayout(partitions=1, replication_factor=1))
    built.app.finalize()
    built.app.flow_control.resume()
    yield built


def acked() -> AsyncMock:
    """A topic send that returns a fresh delivery future per call, already acknowledged."""

    async def delivered() -> None:
        return None

    return AsyncMock(side_effect=lambda *args, **kwargs: delivered())


async def processed(classifier: Classifier, count: int) -> None:
    """Wait until the agent has finished `count` events: it yields nothing, so the test context's
    put returns once an event is taken in, not once it is processed."""
    for _ in range(500):
        done = classifier.metrics.registry.get_sample_value(
            "rmbc_classifier_processing_seconds_count"
        )
        if (done or 0) >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"the agent did not finish {count} events")


def sent_flags(send: AsyncMock) -> list[CancerFlag]:
    return [decode_as(call.kwargs["value"], CancerFlag) for call in send.call_args_list]


async def test_a_recurrence_is_raised_once_and_a_replay_emits_nothing(classifier) -> None:
    case = Case(1).remitted_primary().condition("met", (ICD, "C79.5"), "2021-04-02")
    events = [encode(clinical_event(r, case.nhs)) for r in case.resources]
    send = acked()
    with patch.object(classifier.flags_topic, "send", new=send):
        async with classifier.agent.test_context() as agent:
            for value in events:
                await agent.put(value, key=case.nhs.encode())
            await processed(classifier, len(events))
            flags = sent_flags(send)
            assert [(f.state, f.kind, f.metastatic_sites) for f in flags] == [
                ("raised", "recurrence", ["bone"])
            ]
            for value in events:
                await agent.put(value, key=case.nhs.encode())
            await processed(classifier, 2 * len(events))
            assert len(sent_flags(send)) == 1


async def test_an_undecodable_event_is_dead_lettered_and_the_agent_carries_on(classifier) -> None:
    case = Case(2).primary("2020-02-01").condition("met", (ICD, "C79.5"), "2020-02-20")
    dead, flags = acked(), acked()
    with (
        patch.object(classifier.dead_letter_topic, "send", new=dead),
        patch.object(classifier.flags_topic, "send", new=flags),
    ):
        async with classifier.agent.test_context() as agent:
            await agent.put(b"{not json", key=b"x")
            for resource in case.resources:
                await agent.put(encode(clinical_event(resource, case.nhs)), key=case.nhs.encode())
            await processed(classifier, 1 + len(case.resources))
    letter = decode_as(dead.call_args.kwargs["value"], DeadLetter)
    assert letter.service == "classifier" and "not JSON" in letter.reason
    assert [f.kind for f in sent_flags(flags)] == ["de_novo_metastatic"]


async def test_an_events_age_is_counted_from_its_publication_to_its_intake(classifier) -> None:
    """What waits before the classifier (a slow broker, a starved fetch) shows, beside its lag."""
    case = Case(4).primary("2020-02-01")
    with patch.object(classifier.flags_topic, "send", new=acked()):
        async with classifier.agent.test_context() as agent:
            event = encode(clinical_event(case.resources[0], case.nhs))
            await agent.put(event, key=case.nhs.encode(), timestamp=time.time() - 20)
            await processed(classifier, 1)
    sample = classifier.metrics.registry.get_sample_value
    assert sample("rmbc_classifier_event_age_seconds_count") == 1
    assert sample("rmbc_classifier_event_age_seconds_bucket", {"le": "10.0"}) == 0
    assert sample("rmbc_classifier_event_age_seconds_bucket", {"le": "30.0"}) == 1


async def test_an_event_whose_flag_the_producer_refuses_stops_the_worker_for_a_replay(
    classifier,
) -> None:
    """Going on would leave the event uncommitted and its flag unsent until some later restart."""
    case = Case(3).remitted_primary().condition("met", (ICD, "C79.5"), "2021-04-02")
    refused = AsyncMock(side_effect=KafkaError("no broker"))
    crash = AsyncMock()
    with (
        patch.object(classifier.flags_topic, "send", new=refused),
        patch.object(classifier.app, "crash", new=crash),
    ):
        async with classifier.agent.test_context() as agent:
            with pytest.raises(KafkaError):  # the test context re-raises the agent's crash
                for resource in case.resources:
                    event = encode(clinical_event(resource, case.nhs))
                    await agent.put(event, key=case.nhs.encode())
    assert refused.await_count == 1
    (error,) = crash.await_args.args
    assert isinstance(error, KafkaError)


@pytest.mark.parametrize(
    ("assigned", "recovering", "status"), [(0, False, 503), (3, True, 503), (3, False, 200)]
)
def test_a_worker_is_ready_only_with_partitions_and_its_table_restored(
    assigned: int, recovering: bool, status: int
) -> None:
    code, body = readiness(assigned, recovering)
    assert code == status
    assert json.loads(body) == {
        "ready": status == 200,
        "assigned_partitions": assigned,
        "recovering": recovering,
    }


def test_faust_s_monitor_is_not_a_sensor_of_the_worker(classifier):
    # called for every message and event, it keeps statistics only faust's own web views show
    dependencies = list(classifier.app.on_init_dependencies())  # as the worker's start does
    assert dependencies
    assert classifier.app.monitor not in set(classifier.app.sensors)


def test_a_rebalance_without_sensors_is_no_warning(classifier, caplog):
    list(classifier.app.on_init_dependencies())
    with caplog.at_level("INFO"):
        classifier.app.on_rebalance_start()
        classifier.app.on_rebalance_return()
        classifier.app.on_rebalance_end()
    assert not classifier.app.rebalancing
    assert not [r for r in caplog.records if r.levelname == "WARNING"], caplog.text
