"""The deliverer's scheduling: patients apart run concurrently, one patient's alerts in order,
a flag that cannot be rendered is dead-lettered (never silently dropped)."""

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from services.notifier.decisions import Channel, Delivery, alert_id
from services.notifier.delivery import Deliverer, Job, Recorder, RetryPolicy
from services.notifier.ledger import Ledger
from services.notifier.metrics import NotifierMetrics
from shared.events import AlertEvent, DeadLetter
from tests.unit.notifier.factory import NOW, flag, patient

DEADLINE = 5.0


@dataclass(frozen=True)
class Source:
    topic: str = "flags"
    partition: int = 0
    offset: int = 7
    key: bytes = b"k"
    value: bytes = b"{}"


class RecordingChannel:
    """Sends by appending the payload; `hold` keeps a payload's send open until released."""

    def __init__(self, finds_unrecorded_sends: bool = False) -> None:
        self.finds_unrecorded_sends = finds_unrecorded_sends
        self.sent: list[str] = []
        self.hold: dict[str, asyncio.Event] = {}
        self.sending = 0
        self.most_sending = 0

    async def send(self, payload: str, started: Any = None) -> str:
        self.sending += 1
        self.most_sending = max(self.most_sending, self.sending)
        if payload in self.hold:
            await self.hold[payload].wait()
        self.sent.append(payload)
        self.sending -= 1
        return f"id-{payload}"

    async def already_sent(self, alert_id: str, transport_id: str | None) -> str | None:
        return None

    async def close(self) -> None:
        pass


class Published:
    """Records what is published; `sent_gate`, once cleared, holds every `sent` record back."""

    def __init__(self) -> None:
        self.events: list[Any] = []
        self.sent_gate = asyncio.Event()
        self.sent_gate.set()

    async def __call__(self, topic: str, key: bytes | None, event: Any) -> None:
        if isinstance(event, AlertEvent) and event.outcome == "sent":
            await self.sent_gate.wait()
        self.events.append(event)


def deliverer(
    channel: RecordingChannel,
    published: Published,
    ledger: Ledger,
    channel_name: Channel = "smtp",
    bound: int = 4,
    others: dict[Channel, tuple[RecordingChannel, int]] | None = None,
) -> Deliverer:
    metrics = NotifierMetrics()
    recorder = Recorder(published, ledger, "alerts", "dead-letter", metrics)
    channels = {channel_name: (channel, bound)} | (others or {})
    return Deliverer(
        {name: c for name, (c, _) in channels.items()},  # type: ignore[misc]
        ledger,
        recorder,
        RetryPolicy(max_attempts=2, base_seconds=0.01, max_seconds=0.01),
        lambda: NOW,
        metrics,
        bounds={name: b for name, (_, b) in channels.items()},
    )


def job(
    nhs: str, episode: int, rendered: "asyncio.Future[Any]", channel: Channel = "smtp"
) -> tuple[Job, str]:
    f = flag(key=nhs, episode=episode, patient=patient(nhs_number=nhs))
    d = Delivery(alert_id(f.flag_id, f"{channel}-recipient", "alert"), channel, "r", "alert")
    return Job(f, d, rendered, Source()), d.alert_id


def ready_job(nhs: str, payload: str, channel: Channel = "smtp") -> Job:
    ready = rendering()
    one, one_id = job(nhs, 1, ready, channel)
    ready.set_result({one_id: payload})
    return one


async def until(condition: Callable[[], bool]) -> None:
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.001)

    await asyncio.wait_for(poll(), DEADLINE)


def rendering() -> "asyncio.Future[Any]":
    return asyncio.get_running_loop().create_future()


async def test_a_flag_still_rendering_does_not_hold_up_another_patients_alert():
    channel, published, ledger = RecordingChannel(), Published(), Ledger()
    slow, quick = rendering(), rendering()
    send = deliverer(channel, published, ledger)
    slow_job, slow_id = job("9000000001", 1, slow)
    quick_job, quick_id = job("9000000002", 1, quick)
    waiting = send.submit(slow_job)
    quick.set_result({quick_id: "second patient"})
    await asyncio.wait_for(send.submit(quick_job), DEADLINE)
    assert channel.sent == ["second patient"] and not waiting.done()
    slow.set_result({slow_id: "first patient"})
    await asyncio.wait_for(waiting, DEADLINE)
    assert channel.sent == ["second patient", "first patient"]


async def test_one_patients_alerts_are_sent_in_the_order_their_flags_came():
    channel, published, ledger = RecordingChannel(), Published(), Ledger()
    first, second = rendering(), rendering()
    send = deliverer(channel, published, ledger)
    first_job, first_id = job("9000000001", 1, first)
    second_job, second_id = job("9000000001", 2, second)  # another episode, the same patient
    tasks = [send.submit(first_job), send.submit(second_job)]
    second.set_result({second_id: "later flag"})
    await asyncio.sleep(0)
    first.set_result({first_id: "earlier flag"})
    await asyncio.wait_for(asyncio.gather(*tasks), DEADLINE)
    assert channel.sent == ["earlier flag", "later flag"]


async def test_patients_alerts_are_sent_concurrently_up_to_the_channels_bound():
    channel, published, ledger = RecordingChannel(), Published(), Ledger()
    send = deliverer(channel, published, ledger)  # 4 concurrent sends per channel
    jobs = []
    for n in range(6):
        ready = rendering()
        one, one_id = job(f"900000001{n}", 1, ready)
        ready.set_result({one_id: f"patient {n}"})
        channel.hold[f"patient {n}"] = asyncio.Event()
        jobs.append(send.submit(one))

    async def four_sending() -> None:
        while channel.sending < 4:
            await asyncio.sleep(0.001)

    await asyncio.wait_for(four_sending(), DEADLINE)
    for held in channel.hold.values():
        held.set()
    await asyncio.wait_for(asyncio.gather(*jobs), DEADLINE)
    assert channel.most_sending == 4
    assert sorted(channel.sent) == [f"patient {n}" for n in range(6)]
    assert sum(e.outcome == "sent" for e in published.events) == 6


async def test_a_flag_that_cannot_be_rendered_is_dead_lettered_with_the_reason_and_recorded():
    channel, published, ledger = RecordingChannel(), Published(), Ledger()
    broken = rendering()
    broken.set_exception(ValueError("the STU3 models refused the message"))
    one, one_id = job("9000000001", 1, broken)
    await asyncio.wait_for(deliverer(channel, published, ledger).submit(one), DEADLINE)
    [letter] = [e for e in published.events if isinstance(e, DeadLetter)]
    assert letter.reason.startswith(f"undeliverable alert {one_id} via smtp")
    assert "not rendered: ValueError: the STU3 models refused the message" in letter.reason
    [recorded] = [e for e in published.events if isinstance(e, AlertEvent)]
    assert recorded.outcome == "dead_lettered" and ledger.is_final(one_id)
    assert channel.sent == []


async def test_each_channel_has_its_own_bound_so_gp_documents_do_not_wait_for_e_mail_slots():
    mesh, smtp = RecordingChannel(finds_unrecorded_sends=True), RecordingChannel()
    published, ledger = Published(), Ledger()
    send = deliverer(mesh, published, ledger, "mesh", 16, others={"smtp": (smtp, 4)})
    tasks = []
    for n in range(20):
        for name, channel in (("mesh", mesh), ("smtp", smtp)):
            channel.hold[f"{name} {n}"] = asyncio.Event()
            tasks.append(send.submit(ready_job(f"90000001{n:02}", f"{name} {n}", name)))
    await until(lambda: mesh.sending == 16 and smtp.sending == 4)
    for channel in (mesh, smtp):
        for held in channel.hold.values():
            held.set()
    await asyncio.wait_for(asyncio.gather(*tasks), DEADLINE)
    assert (mesh.most_sending, smtp.most_sending) == (16, 4)
    assert len(mesh.sent) == len(smtp.sent) == 20


async def test_an_e_mail_keeps_its_slot_until_it_is_recorded_sent():
    # SMTP cannot be asked after a crash: the bound is the most e-mails sent but not recorded
    channel, published, ledger = RecordingChannel(), Published(), Ledger()
    send = deliverer(channel, published, ledger, "smtp", bound=1)
    published.sent_gate.clear()
    first = send.submit(ready_job("9000000001", "first e-mail"))
    second = send.submit(ready_job("9000000002", "second e-mail"))
    # the second records `attempting`, then would send at once if the slot were free
    await until(lambda: [e.outcome for e in published.events] == ["attempting", "attempting"])
    assert channel.sent == ["first e-mail"]
    published.sent_gate.set()
    await asyncio.wait_for(asyncio.gather(first, second), DEADLINE)
    assert channel.sent == ["first e-mail", "second e-mail"]


async def test_a_gp_document_lets_its_slot_go_before_it_is_recorded_sent():
    # its MESH id was recorded before the practice could receive it: tracking finds it after a
    # crash, so the slot need not wait for the `sent` record
    channel, published, ledger = RecordingChannel(True), Published(), Ledger()
    send = deliverer(channel, published, ledger, "mesh", bound=1)
    published.sent_gate.clear()
    first = send.submit(ready_job("9000000001", "first letter", "mesh"))
    second = send.submit(ready_job("9000000002", "second letter", "mesh"))
    await until(lambda: channel.sent == ["first letter", "second letter"])
    assert not any(getattr(e, "outcome", None) == "sent" for e in published.events)
    published.sent_gate.set()
    await asyncio.wait_for(asyncio.gather(first, second), DEADLINE)
    assert sum(e.outcome == "sent" for e in published.events) == 2
