"""The worker's consumer and stream flow control, corrected for faust-streaming 0.15.3: commits
the broker really holds and none past an event still out, no record dropped or thrown away
across a rebalance or seek, a shorter fetch wait, and records handed over inline when nothing can
wait. Each correction, its hook and its test: docs/faust-corrections.md (1-9).
"""

import bisect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, MutableMapping
from typing import Any, cast

import faust
from aiokafka.errors import KafkaError
from faust.transport.drivers import aiokafka as driver
from mode.services import WaitResults
from mode.utils.queues import FlowControlEvent

from services.classifier.stream.corrections.handoff import Handoff, Verdict

log = logging.getLogger("rmbc.classifier")


async def believe_the_broker(
    committed: MutableMapping[Any, int | None],
    partitions: Iterable[Any],
    broker_committed: Callable[[Any], Awaitable[int | None]],
) -> None:
    """Set each partition's committed offset to what the broker holds; when the broker cannot
    say, to unknown (faust then commits from the first acknowledged offset, never a guess)."""
    for tp in partitions:
        try:
            committed[tp] = await broker_committed(tp)
        except KafkaError:
            committed[tp] = None


def fill_gaps_once(acked: list[int], gap: Any) -> None:
    """Move the gap offsets up to the highest acknowledged one into `acked`, each offset once.

    faust counts offsets it never saw (a gap) as done, adding them to the acknowledged list when it
    computes what to commit; it does not check for offsets acknowledged as well. After a rebalance
    a partition can first be read from where it was, leaving a gap back to the committed offset,
    and then from the committed offset again: every offset in the gap is then both. faust's run of
    consecutive offsets ends at the first repeat, and each commit advances by one offset. Done
    here first, faust finds nothing to add."""
    if not acked or not gap:
        return
    highest = max(acked)
    filled = {
        o for interval in gap.overlap(0, highest) for o in range(interval.begin, interval.end)
    }
    if filled:
        gap.chop(0, max(max(filled), highest + 1))  # as faust chops it
    if filled or len(set(acked)) != len(acked):
        acked[:] = sorted(set(acked) | filled)


def first_unacknowledged(messages: Iterable[Any], tp: Any) -> int | None:
    """The lowest offset of `tp` handed to the stream and not yet acknowledged."""
    return min((m.offset for m in messages if m.tp == tp and not m.acked), default=None)


def hold_back(acked: list[int], pending: int | None) -> list[int]:
    """Take the acknowledged offsets above `pending` out of `acked` (sorted) and return them.

    The stream acknowledges an event once the flags it caused are delivered, so later events can
    be acknowledged first. faust commits the run of consecutive acknowledged offsets that starts
    within one of the committed offset: with offset N still out, [N+1, N+2] would commit N+3
    and lose N on a crash. Nothing past an offset still out may count."""
    if pending is None:
        return []
    acked.sort()
    cut = bisect.bisect_left(acked, pending)
    later = acked[cut:]
    del acked[cut:]
    return later


async def seek_to_committed(
    consumer: Any, is_input: Callable[[Any], bool], sought: Callable[[dict[Any, int]], None]
) -> dict[Any, int | None]:
    """Seek each assigned partition of an aiokafka `consumer` to its committed offset, and an
    input partition with none to its first offset; returns the committed offsets, as aiokafka's
    seek_to_committed does (which seeks only offsets above 0). The broker is asked first and the
    seeks made together, then `sought(targets)`: a batch fetched in between holds records of
    partitions sought and not yet sought alike."""
    assigned = consumer.assignment()
    committed: dict[Any, int | None] = {tp: await consumer.committed(tp) for tp in assigned}
    targets = {tp: offset for tp, offset in committed.items() if offset is not None and offset >= 0}
    never = [tp for tp in assigned if tp not in targets and is_input(tp)]
    if never:
        targets |= await consumer.beginning_offsets(never)
    for tp, offset in targets.items():
        consumer.seek(tp, offset)
    sought(targets)
    return committed


class Batch(dict[Any, Any]):
    """Fetched records, and how many seeks had landed when they were fetched."""

    def __init__(self, records: Mapping[Any, Any], fetched_under: int) -> None:
        super().__init__(records)
        self.fetched_under = fetched_under


class StreamFlowControl(FlowControlEvent):
    """faust's flow control of the stream queues, emptied only by a resume that ends a suspension."""

    _managed: tuple[Any, ...] | None = None  # the stream queues, read once per record

    def resume(self) -> None:
        if self.is_active():
            return  # nothing in the queues is from before a rebalance
        super().resume()

    def manage_queue(self, queue: Any) -> None:
        super().manage_queue(queue)
        self._managed = None

    def has_room(self) -> bool:
        """Every stream queue can take another record without waiting."""
        if self._managed is None:
            self._managed = tuple(self._queues)  # faust's WeakSet is slow to walk
        return not any(queue.full() for queue in self._managed)


def use_worker_consumer(app: faust.App, fetch_wait_ms: int) -> None:
    """Give the app (only this app, not the class) the corrected consumer and flow control; call
    before it starts."""
    app.flow_control = StreamFlowControl(loop=app.loop)

    class ConsumerThread(driver.AIOKafkaConsumerThread):
        def _create_worker_consumer(self, transport: Any) -> Any:
            consumer = super()._create_worker_consumer(transport)
            consumer._fetch_max_wait_ms = fetch_wait_ms  # read when the consumer starts
            return consumer

        @property
        def handoff(self) -> Handoff:
            return cast(Consumer, self.consumer).handoff

        async def seek_to_committed(self) -> Any:
            handoff = self.handoff
            return await self.call_thread(
                seek_to_committed, self._ensure_consumer(), handoff.is_input, handoff.sought
            )

        async def _fetch_records(self, *args: Any, **kwargs: Any) -> Batch:
            records = await super()._fetch_records(*args, **kwargs)
            return Batch(records, self.handoff.landed)  # no await since the fetch

        async def read_again(self, tp: Any, offset: int) -> None:
            async def seek() -> None:
                self._ensure_consumer().seek(tp, offset)
                self.handoff.sought({tp: offset})

            await self.call_thread(seek)

    class Consumer(driver.Consumer):
        handoff: Handoff
        _fetched_under = 0

        def _new_consumer_thread(self) -> Any:
            self.handoff = Handoff(is_input=lambda tp: not self._is_changelog_tp(tp))
            return ConsumerThread(self, loop=self.loop, beacon=self.beacon)

        async def _wait_next_records(self, timeout: float) -> Any:
            records, active = await super()._wait_next_records(timeout)
            self._fetched_under = getattr(records, "fetched_under", -1)
            return records, active

        async def getmany(self, timeout: float) -> AsyncIterator[Any]:
            async for tp, message in super().getmany(timeout):
                expected = self.handoff.next_offset(tp)
                verdict = self.handoff.admit(tp, message.offset, self._fetched_under)
                if verdict is Verdict.PASS:
                    yield tp, message
                elif verdict is not Verdict.DROP:
                    where = {"partition": tp.partition, "offset": expected, "next": message.offset}
                    if verdict is Verdict.READ_AGAIN:
                        assert expected is not None  # a partition awaiting a seek is dropped
                        log.warning(
                            "records fetched were never handed to the stream: reading them again",
                            extra=where,
                        )
                        await cast(ConsumerThread, self._thread).read_again(tp, expected)
                    else:
                        log.error("records are gone from the log: going on past them", extra=where)
                        yield tp, message

        async def wait_first(self, *coros: Any, timeout: Any = None) -> Any:
            # the fetch loop's handover is faust's only call with two (docs/faust-corrections.md, 9)
            if len(coros) == 2 and self._hands_over_at_once():
                handover, suspended = coros
                suspended.close()  # never started
                await handover
                return WaitResults([handover], [None], False)
            return await super().wait_first(*coros, timeout=timeout)

        def _hands_over_at_once(self) -> bool:
            """Nothing in faust's handover would wait: flow running, room in every stream queue,
            the producer buffer under its limit, the consumer neither stopping nor crashed."""
            flow = cast(StreamFlowControl, self.app.flow_control)
            buffer = self.app.producer.buffer
            return (
                flow.is_active()
                and not self.suspend_flow.is_set()
                and not self._stopped.is_set()
                and not self._crashed.is_set()
                and flow.has_room()
                and buffer.size <= buffer.max_messages
            )

        async def perform_seek(self) -> None:
            self.handoff.seeking(self.assignment())
            await super().perform_seek()

        async def on_partitions_revoked(self, revoked: Any) -> None:
            self.handoff.revoked(revoked)
            await super().on_partitions_revoked(revoked)

        async def _commit_offsets(self, offsets: Any, start_new_transaction: bool = True) -> bool:
            done = bool(await super()._commit_offsets(offsets, start_new_transaction))
            # recorded as committed though not done (mid-rebalance perhaps: the broker still
            # knows these partitions, whoever holds them now)
            recorded = [
                tp for tp, offset in offsets.items() if self._committed_offset[tp] == offset
            ]
            if recorded and not done:
                await believe_the_broker(self._committed_offset, recorded, self._broker_committed)
                log.warning(
                    "commit failed; committed offsets re-read from the broker",
                    extra={"partitions": len(recorded)},
                )
            return done

        async def on_partitions_assigned(self, assigned: Any, generation_id: int = 0) -> None:
            self.handoff.assigned(assigned)
            for tp in assigned:
                self._read_offset.pop(tp, None)
            await super().on_partitions_assigned(assigned, generation_id)

        def _new_offset(self, tp: Any) -> int | None:
            fill_gaps_once(self._acked[tp], self._gap[tp])
            pending = first_unacknowledged(self._unacked_messages, tp)
            later = hold_back(self._acked[tp], pending)
            try:
                offset: int | None = super()._new_offset(tp)
            finally:
                self._acked[tp].extend(later)
            return offset

        async def _broker_committed(self, tp: Any) -> int | None:
            thread = self._thread
            aiokafka_consumer = thread._ensure_consumer()
            offset = await thread.call_thread(
                aiokafka_consumer.committed, driver.ensure_aiokafka_TP(tp)
            )
            return None if offset is None or offset < 0 else int(offset)

    app.transport.Consumer = Consumer  # type: ignore[misc]
