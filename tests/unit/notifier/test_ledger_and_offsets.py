import asyncio

import pytest
from aiokafka.errors import CommitFailedError
from pydantic import ValidationError

from services.notifier.delivery import RetryPolicy
from services.notifier.ledger import Ledger, alert_event
from services.notifier.offsets import OffsetTracker, commit_done
from services.notifier.settings import NotifierSettings
from tests.unit.notifier.factory import NOW, flag


def event(outcome, attempt=1, alert="a1"):
    return alert_event(
        flag(),
        alert_id=alert,
        channel="mesh",
        recipient="X26ABC2",
        attempt=attempt,
        outcome=outcome,
        now=NOW,
    )


def test_the_ledger_never_moves_an_alert_backwards_when_events_are_read_again():
    ledger = Ledger()
    for outcome in ("attempting", "sent", "attempting"):
        ledger.apply(event(outcome))
    assert ledger.get("a1").outcome == "sent"
    assert ledger.is_final("a1")


def test_a_redriven_attempt_reopens_a_dead_lettered_alert():
    ledger = Ledger()
    ledger.apply(event("dead_lettered", attempt=3))
    ledger.apply(event("attempting", attempt=4))
    assert ledger.get("a1").outcome == "attempting" and not ledger.is_final("a1")


def test_the_ledger_lists_a_flags_alerts_including_queued_ones():
    ledger = Ledger()
    ledger.apply(event("sent"))
    ledger.queue("a2", flag().flag_id, "smtp", "cns@x")
    assert [(e.alert_id, e.outcome) for e in ledger.for_flag(flag().flag_id)] == [
        ("a1", "sent"),
        ("a2", "queued"),
    ]


def test_an_escalation_on_the_alerts_topic_is_a_final_entry_the_notifier_can_read():
    ledger = Ledger()
    ledger.apply(event("escalated", alert="escalation-1"))
    ledger.apply(event("attempting", alert="escalation-1"))
    assert ledger.get("escalation-1").outcome == "escalated"
    assert ledger.is_final("escalation-1")


def test_alert_event_ids_are_deterministic():
    assert event("sent").event_id == event("sent").event_id != event("attempting").event_id


async def test_offsets_are_committable_only_up_to_the_first_unfinished_record():
    tracker = OffsetTracker()
    slow = asyncio.get_running_loop().create_future()
    done = asyncio.get_running_loop().create_future()
    done.set_result(None)
    tracker.add("p0", 10, [done])
    tracker.add("p0", 11, [slow])
    tracker.add("p0", 12, [])
    assert tracker.committable() == {"p0": 11}
    slow.set_result(None)
    assert tracker.committable() == {"p0": 13}
    assert tracker.in_flight() == 0


async def test_a_failed_delivery_task_is_never_committed_past():
    tracker = OffsetTracker()
    failed = asyncio.get_running_loop().create_future()
    failed.set_exception(RuntimeError("broker gone"))
    tracker.add("p0", 5, [failed])
    with pytest.raises(RuntimeError):
        tracker.committable()
    assert tracker.failed_at == ("p0", 5)  # the record whose work failed, counted against it


class RefusingConsumer:
    """A consumer whose group has moved on: every commit is refused."""

    def __init__(self) -> None:
        self.attempts: list[dict[str, int]] = []

    async def commit(self, offsets: dict[str, int]) -> None:
        self.attempts.append(offsets)
        raise CommitFailedError("the group has already rebalanced")


async def test_a_commit_refused_after_a_rebalance_is_survived_and_revoked_work_forgotten():
    tracker, consumer = OffsetTracker(), RefusingConsumer()
    tracker.add("p0", 7, [])
    tracker.add("p1", 3, [asyncio.get_running_loop().create_future()])  # still in flight
    await commit_done(consumer, tracker)  # must not raise: the loop carries on
    assert consumer.attempts == [{"p0": 8}]
    tracker.forget(["p1"])  # revoked: its records are read again from the last commit
    assert tracker.in_flight() == 0
    await commit_done(consumer, tracker)
    assert consumer.attempts == [{"p0": 8}]  # nothing left to commit, nothing attempted


def test_the_retry_delay_doubles_up_to_its_cap():
    policy = RetryPolicy(max_attempts=5, base_seconds=1, max_seconds=5)
    assert [policy.delay(n) for n in (1, 2, 3, 4)] == [1, 2, 4, 5]


REQUIRED = {
    "RMBC_MESH_URL": "http://127.0.0.1:8700",
    "RMBC_MESH_MAILBOX": "X26ABC1",
    "RMBC_MESH_PASSWORD": "password",
    "RMBC_MESH_SHARED_KEY": "TestKey",
    "RMBC_SMTP_FROM": "rmbc@x.nhs.net",
    "RMBC_DIRECTORY_FILE": "deploy/directory.example.json",
}


def test_settings_refuse_a_placeholder_secret(monkeypatch):
    for name, value in REQUIRED.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("RMBC_MESH_SHARED_KEY", "change-me")
    with pytest.raises(ValidationError, match="RMBC_MESH_SHARED_KEY"):
        NotifierSettings()


def test_settings_read_the_conventional_environment_variables(monkeypatch):
    for name, value in REQUIRED.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("RMBC_NOTIFIER_HTTP_PORT", "9999")
    monkeypatch.setenv("RMBC_SMTP_STARTTLS", "true")
    settings = NotifierSettings()
    assert settings.notifier_http_port == 9999 and settings.smtp_starttls
    assert settings.mesh_mailbox == "X26ABC1"
