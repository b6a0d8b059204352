"""Patients whose flags are in flight: stored in order once delivered, never before, and no one
else waits for them."""

import asyncio

from services.classifier.state import PatientState
from services.classifier.stream.in_flight import InFlight

A, B = b"9434765919", b"9434765870"


class Recorder:
    def __init__(self) -> None:
        self.settled: list[str] = []
        self.failures: list[BaseException] = []

    def settle(self, name: str):
        async def settle() -> None:
            self.settled.append(name)

        return settle

    async def failed(self, error: BaseException, source: str | None) -> None:
        self.failures.append(error)


def stored(key: bytes) -> PatientState:
    return PatientState()


def delivery() -> asyncio.Future[None]:
    return asyncio.get_running_loop().create_future()


async def test_a_patients_events_settle_in_order_once_each_flag_is_delivered() -> None:
    record = Recorder()
    in_flight = InFlight(record.failed, limit=10)
    first, second = delivery(), delivery()
    in_flight.hold(A, PatientState(), [first], record.settle("a1"))
    in_flight.hold(A, PatientState(), [second], record.settle("a2"))
    second.set_result(None)  # the later flag is acknowledged first
    await asyncio.sleep(0.01)
    assert record.settled == [] and in_flight.is_held(A)
    first.set_result(None)
    await in_flight.settled()
    assert record.settled == ["a1", "a2"] and not in_flight.is_held(A)


async def test_later_events_of_a_held_patient_build_on_the_held_state() -> None:
    record = Recorder()
    in_flight = InFlight(record.failed, limit=10)
    held = PatientState(patient={"gp_practice_ods": "B86001"})
    pending = delivery()
    in_flight.hold(A, held, [pending], record.settle("a1"))
    assert in_flight.state(A, stored) is held
    assert in_flight.state(B, stored) == PatientState()  # not held: as stored
    pending.set_result(None)
    await in_flight.settled()
    assert in_flight.state(A, stored) == PatientState()


async def test_other_patients_do_not_wait_for_a_held_one() -> None:
    record = Recorder()
    in_flight = InFlight(record.failed, limit=10)
    pending = delivery()
    in_flight.hold(A, PatientState(), [pending], record.settle("a1"))
    delivered = delivery()
    delivered.set_result(None)
    in_flight.hold(B, PatientState(), [delivered], record.settle("b1"))
    await asyncio.sleep(0.01)
    assert record.settled == ["b1"]
    pending.set_result(None)
    await in_flight.settled()
    assert record.settled == ["b1", "a1"]


async def test_a_flag_not_delivered_settles_nothing_after_it_and_stops_the_worker() -> None:
    record = Recorder()
    in_flight = InFlight(record.failed, limit=10)
    failing, fine = delivery(), delivery()
    in_flight.hold(A, PatientState(), [failing], record.settle("a1"))
    in_flight.hold(A, PatientState(), [fine], record.settle("a2"))
    fine.set_result(None)
    failing.set_exception(ConnectionError("broker gone"))
    await asyncio.sleep(0.01)
    assert record.settled == []  # neither stored nor let go: both are replayed after a restart
    assert record.failures and all(isinstance(e, ConnectionError) for e in record.failures)
    assert not in_flight.is_held(A)


async def test_no_more_patients_are_held_than_the_limit() -> None:
    record = Recorder()
    in_flight = InFlight(record.failed, limit=2)
    pending = [delivery(), delivery()]
    in_flight.hold(A, PatientState(), [pending[0]], record.settle("a1"))
    in_flight.hold(B, PatientState(), [pending[1]], record.settle("b1"))
    room = asyncio.ensure_future(in_flight.room())
    await asyncio.sleep(0.01)
    assert not room.done()
    pending[1].set_result(None)
    await asyncio.wait_for(room, 1)
    assert record.settled == ["b1"] and len(in_flight) == 1
    pending[0].set_result(None)
    await in_flight.settled()
