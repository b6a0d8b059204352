"""The worker consumer's committed-offset correction, on faust's own commit bookkeeping."""

import asyncio
import inspect
import re
from types import SimpleNamespace
from typing import Any
from unittest.mock import AsyncMock, patch

import pytest
from aiokafka.errors import KafkaConnectionError
from faust.transport.consumer import Consumer as FaustConsumerBase
from faust.transport.drivers.aiokafka import Consumer as FaustConsumer
from faust.types import TP
from intervaltree import Interval, IntervalTree
from mode import Service
from mode.utils.queues import FlowControlEvent, ThrowableQueue

from services.classifier.settings import ClassifierSettings
from services.classifier.stream.app import create_app
from services.classifier.stream.corrections.worker_consumer import believe_the_broker
from services.classifier.stream.topic_check import TableLayout

PARTITION = TP("rmbc.clinical-events.v1", 2)


def worker_consumer(tmp_path):
    settings = ClassifierSettings(app_id="worker-consumer-test", data_dir=tmp_path)
    app = create_app(settings, TableLayout(partitions=1, replication_factor=1)).app
    app.finalize()
    return app.consumer  # faust's Consumer as the worker builds it; not started, no broker


@pytest.fixture
def consumer(tmp_path):
    return worker_consumer(tmp_path)


@pytest.fixture
async def consumer_in_loop(tmp_path):
    """Built inside the test's event loop: faust's fetch loop waits on the consumer's events,
    which belong to the loop they were made in."""
    return worker_consumer(tmp_path)


async def test_a_stale_committed_offset_stops_commits_until_the_broker_is_believed(consumer):
    # across a broker restart: offsets up to 770 were committed on the broker, but faust kept
    # 695 from the commit it saw fail; the stream resumed at 771 and acknowledges from there
    consumer._committed_offset[PARTITION] = 695
    consumer._acked[PARTITION].extend([771, 772, 773])
    consumer._acked_index[PARTITION].update([771, 772, 773])
    assert consumer._new_offset(PARTITION) is None  # a hole that never fills: no commit, ever

    async def broker_holds(tp):
        return {PARTITION: 771}[tp]

    await believe_the_broker(consumer._committed_offset, [PARTITION], broker_holds)
    assert consumer._committed_offset[PARTITION] == 771
    assert consumer._new_offset(PARTITION) == 774


async def test_when_the_broker_cannot_say_the_committed_offset_becomes_unknown():
    committed = {PARTITION: 695}

    async def broker_down(tp):
        raise KafkaConnectionError("connection refused")

    await believe_the_broker(committed, [PARTITION], broker_down)
    assert committed == {PARTITION: None}


async def test_a_commit_the_broker_refused_leaves_the_brokers_offset_not_the_one_tried(consumer):
    asked = []

    async def broker_holds(tp):
        asked.append(tp)
        return 771

    with (
        patch.object(consumer.app.producer, "flush", new=AsyncMock()),
        patch.object(consumer, "assignment", return_value={PARTITION}),
        patch.object(consumer, "_commit", new=AsyncMock(return_value=False)),  # refused
        patch.object(consumer, "_broker_committed", new=broker_holds),
    ):
        assert await consumer._commit_offsets({PARTITION: 905}) is False
    assert asked == [PARTITION]
    assert consumer._committed_offset[PARTITION] == 771  # faust alone would keep 905


async def test_a_commit_that_succeeded_asks_the_broker_nothing(consumer):
    with (
        patch.object(consumer.app.producer, "flush", new=AsyncMock()),
        patch.object(consumer, "assignment", return_value={PARTITION}),
        patch.object(consumer, "_commit", new=AsyncMock(return_value=True)),
        patch.object(consumer, "_broker_committed", new=AsyncMock(side_effect=AssertionError)),
    ):
        assert await consumer._commit_offsets({PARTITION: 905}) is True
    assert consumer._committed_offset[PARTITION] == 905


def test_a_gap_read_again_after_a_rebalance_is_committed_whole_not_one_offset_at_a_time(consumer):
    # after a rebalance the stream first read from its old position (797), so faust noted 689-796
    # as a gap; then it was sought back to the committed offset and read 689 onwards again
    def rebalanced():
        consumer._committed_offset[PARTITION] = 688
        consumer._gap[PARTITION] = IntervalTree([Interval(689, 797)])
        consumer._acked[PARTITION][:] = list(range(689, 1000))
        consumer._acked_index[PARTITION].update(range(689, 1000))

    rebalanced()
    assert FaustConsumer._new_offset(consumer, PARTITION) == 690  # faust alone: one at a time
    rebalanced()
    assert consumer._new_offset(PARTITION) == 1000
    assert consumer._acked[PARTITION] == [] and not consumer._gap[PARTITION]


def test_gap_offsets_never_acknowledged_still_count_as_done(consumer):
    consumer._committed_offset[PARTITION] = 688
    consumer._gap[PARTITION] = IntervalTree([Interval(689, 797)])  # compacted away, say
    consumer._acked[PARTITION][:] = [797, 798]
    assert consumer._new_offset(PARTITION) == 799


class Handed:
    """A message handed to the stream (faust tracks them in a WeakSet until acknowledged)."""

    def __init__(self, offset: int, acked: bool = False) -> None:
        self.tp, self.offset, self.acked = PARTITION, offset, acked


def test_an_event_still_out_holds_back_the_commit_of_later_ones(consumer):
    # 100 waits for its flag's delivery; 101 and 102, other patients, are done already
    def acknowledged_out_of_order():
        consumer._committed_offset[PARTITION] = 100
        consumer._acked[PARTITION][:] = [101, 102]
        consumer._acked_index[PARTITION].update([101, 102])

    out = Handed(100)
    consumer._unacked_messages.add(out)
    acknowledged_out_of_order()
    assert FaustConsumer._new_offset(consumer, PARTITION) == 103  # faust alone: 100 is lost
    acknowledged_out_of_order()
    assert consumer._new_offset(PARTITION) is None
    assert consumer._acked[PARTITION] == [101, 102]  # kept for later
    out.acked = True
    consumer._acked[PARTITION].append(100)
    assert consumer._new_offset(PARTITION) == 103


class Fetcher:
    """Stands for faust's fetcher service: the fetch loop runs until it is stopped."""

    def __init__(self) -> None:
        self._stopped = asyncio.Event()


async def handed_to_the_stream(
    consumer, offsets: list[int], waits_for_flow: bool = False, into: Any = None
) -> list[int]:
    """Run faust's own fetch loop over one fetch of `offsets`; what it hands to the stream. The
    handover waits, as faust's does, for flow to run (`waits_for_flow`) or for room in `into`."""
    fetcher, handed = Fetcher(), []

    async def one_fetch(timeout):
        for offset in offsets:
            yield (
                PARTITION,
                SimpleNamespace(topic=PARTITION.topic, offset=offset, key=b"k", value=b"v"),
            )
        fetcher._stopped.set()

    async def to_stream(message):
        if waits_for_flow:
            await consumer.app.flow_control.acquire()
        if into is not None:
            await into.put(message.offset)
        handed.append(message.offset)

    with (
        patch.object(consumer, "getmany", new=one_fetch),
        patch.object(consumer, "callback", new=to_stream),
    ):
        await consumer._drain_messages(fetcher)
    return handed


async def test_a_record_given_up_as_partitions_were_revoked_does_not_hide_the_records_before_it(
    consumer_in_loop,
):
    consumer = consumer_in_loop

    # a broker restart revoked the partitions while faust's fetch loop waited to hand record 1278
    # to a full stream; it gave the record up and still set 1278 as read. Assigned again, the
    # stream resumes at the committed offset, 1262.
    async def reassigned(assign):
        consumer._read_offset[PARTITION] = 1278
        with (
            patch.object(consumer, "_on_partitions_assigned", new=AsyncMock()),
            patch.object(consumer.app, "on_rebalance_return"),
        ):
            await assign(consumer, {PARTITION}, 3)

    await reassigned(FaustConsumer.on_partitions_assigned)
    assert await handed_to_the_stream(consumer, [1262, 1263, 1264]) == []  # faust alone: dropped
    await reassigned(type(consumer).on_partitions_assigned)
    assert await handed_to_the_stream(consumer, [1262, 1263, 1264]) == [1262, 1263, 1264]


async def test_resuming_flow_that_was_not_suspended_keeps_the_records_handed_to_the_stream(
    consumer_in_loop,
):
    # after a rebalance faust's table recovery resumes flow; it then seeks the stream partitions,
    # fetching meanwhile, and resumes flow control again: records already in the stream's queue
    # must still be processed
    def handed_then_resumed(flow_control):
        queue = ThrowableQueue(flow_control=flow_control, clear_on_resume=True)
        flow_control.resume()
        queue.put_nowait("record 1262")
        flow_control.resume()
        return queue.qsize()

    faust_alone = FlowControlEvent(initially_suspended=True)
    assert handed_then_resumed(faust_alone) == 0  # thrown away unprocessed
    assert handed_then_resumed(consumer_in_loop.app.flow_control) == 1


async def test_resuming_after_a_suspension_still_empties_the_queues(consumer_in_loop):
    flow_control = consumer_in_loop.app.flow_control
    queue = ThrowableQueue(flow_control=flow_control, clear_on_resume=True)
    queue.put_nowait("record of the revoked assignment")
    flow_control.suspend()
    flow_control.resume()
    assert queue.qsize() == 0 and flow_control.is_active()


@pytest.fixture
def faust_waits():
    """Counts the handovers that go through faust's own wait_first (four tasks a record)."""
    waits = SimpleNamespace(calls=0)
    faust_wait_first = Service.wait_first

    async def counted(service, *coros, timeout=None):
        waits.calls += 1
        return await faust_wait_first(service, *coros, timeout=timeout)

    with patch.object(Service, "wait_first", new=counted):
        yield waits


async def test_a_record_the_stream_has_room_for_is_handed_over_inline(
    consumer_in_loop, faust_waits
):
    consumer = consumer_in_loop
    consumer.app.flow_control.resume()
    queue = ThrowableQueue(maxsize=10, flow_control=consumer.app.flow_control, clear_on_resume=True)
    assert await handed_to_the_stream(consumer, [1262, 1263, 1264]) == [1262, 1263, 1264]
    assert faust_waits.calls == 0
    assert queue.qsize() == 0


async def test_with_flow_suspended_the_handover_is_faust_s_and_gives_the_record_up(
    consumer_in_loop, faust_waits
):
    consumer = consumer_in_loop  # flow starts suspended, as in a rebalance
    consumer.suspend_flow.set()
    assert await handed_to_the_stream(consumer, [1262, 1263], waits_for_flow=True) == []
    assert faust_waits.calls == 2


async def test_a_handover_to_a_full_stream_queue_still_gives_up_when_flow_is_suspended(
    consumer_in_loop, faust_waits
):
    consumer = consumer_in_loop
    consumer.app.flow_control.resume()
    full = ThrowableQueue(maxsize=1, flow_control=consumer.app.flow_control, clear_on_resume=True)
    full.put_nowait("record 1261")
    asyncio.get_running_loop().call_later(0.1, consumer.suspend_flow.set)  # a rebalance begins
    assert await handed_to_the_stream(consumer, [1262], into=full) == []
    assert faust_waits.calls == 1
    assert list(full._queue) == ["record 1261"]


def test_faust_s_fetch_loop_is_the_consumer_s_only_two_way_wait_first():
    # the inline handover recognises the fetch loop's call by its two arguments
    source = inspect.getsource(FaustConsumerBase)
    assert source.count(".wait_first(") == 1
    assert re.search(
        r"self\.wait_first\(\s*callback\(message\), self\.suspend_flow\.wait\(\)\s*\)", source
    )
