"""The escalation loop: follows rmbc.alerts.v1, rmbc.reviews.v1 and rmbc.cancer-flags.v1, and
e-mails each overdue alert's MDT lead once (services/worklist/escalation.py decides).

On start it reads the three topics from the beginning to their ends (the escalations already
recorded among them), and only then escalates. Each escalation is recorded `attempting` (acks=all)
before its e-mail and `escalated` after it, and taken into the state at once. A crash between the
e-mail and its record sends it again on restart with the same Message-ID (the notifier's SMTP
window, services/notifier/README.md); one that failed is tried again at the next check.

The worklist starts `EscalationLoop.run(stop)` as a task beside its web app (`build(settings)`
makes one from the environment); `python -m services.worklist.escalation_loop` runs it alone.
"""

import asyncio
import logging
import signal
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import aiosmtplib
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.notifier.cns_email import Email
from services.notifier.directory import Directory, load_directory
from services.worklist.escalation import (
    Escalation,
    Watch,
    escalation_email,
    escalation_event,
    teams_by_email,
)
from services.worklist.overdue import Calendar, england_and_wales_bank_holidays
from shared.admin import existing_partitions, read_and_follow
from shared.codec import UndecodableEvent, decode, encode
from shared.events import AlertEvent, AlertOutcome, CancerFlag, ReviewEvent
from shared.logs import configure_logging
from shared.settings import KafkaSettings
from shared.topics import TopicNames

SERVICE = "worklist-escalation"
log = logging.getLogger("services.worklist.escalation")


class EscalationSettings(BaseSettings):
    """From the environment; the SMTP relay and directory are the notifier's variables."""

    model_config = SettingsConfigDict(env_prefix="RMBC_", frozen=True, extra="ignore")

    # the worklist's own variables: the page's overdue and the escalation count the same days
    worklist_acknowledge_within_working_days: int = Field(
        default=2, ge=1, description="An alert not acknowledged within this is escalated."
    )
    escalation_check_seconds: float = Field(
        default=60.0, gt=0, description="How often open alerts are checked."
    )
    worklist_public_url: str | None = Field(
        default=None, description="The worklist's address, named in the e-mail, if set."
    )
    smtp_host: str = Field(default="127.0.0.1", description="SMTP relay host.")
    smtp_port: int = Field(default=25, description="SMTP relay port.")
    smtp_starttls: bool = Field(default=False, description="Upgrade with STARTTLS.")
    smtp_username: str | None = Field(default=None, description="SMTP AUTH user, if any.")
    smtp_password: SecretStr | None = Field(default=None, description="SMTP AUTH password.")
    smtp_from: str = Field(description="From address of the escalation e-mails.")
    smtp_ca_file: Path | None = Field(default=None, description="CA bundle for STARTTLS.")
    smtp_timeout_seconds: float = Field(default=30.0, gt=0, description="Deadline of one send.")
    directory_file: Path = Field(description="JSON directory: trust -> CNS team -> MDT lead.")
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    topics: TopicNames = Field(default_factory=TopicNames)


class MailSender(Protocol):
    async def send(self, email: Email) -> str:
        """Hand the e-mail to the relay; its Message-ID. Raises when the relay refuses it."""
        ...


class SmtpSender:
    """One connection per escalation: they are few, so no session is kept open."""

    def __init__(self, settings: EscalationSettings) -> None:
        self._settings = settings

    async def send(self, email: Email) -> str:
        s = self._settings
        await aiosmtplib.send(
            email.data,
            sender=email.sender,
            recipients=[email.recipient],
            hostname=s.smtp_host,
            port=s.smtp_port,
            start_tls=s.smtp_starttls,
            username=s.smtp_username,
            password=s.smtp_password.get_secret_value() if s.smtp_password else None,
            cert_bundle=str(s.smtp_ca_file) if s.smtp_ca_file else None,
            timeout=s.smtp_timeout_seconds,
        )
        return email.message_id


def utc_now() -> datetime:
    return datetime.now(UTC)


class EscalationLoop:
    def __init__(
        self,
        settings: EscalationSettings,
        directory: Directory,
        mail: MailSender,
        clock: Callable[[], datetime] = utc_now,
        holidays: Calendar | None = None,
    ) -> None:
        self.settings = settings
        self.teams = teams_by_email(directory)
        self.mail = mail
        self.clock = clock
        self.holidays = holidays if holidays is not None else england_and_wales_bank_holidays()
        self.watch = Watch()
        self.ready = asyncio.Event()  # set once the topics were read to their ends
        self._producer: AIOKafkaProducer | None = None
        self._keys: dict[str, bytes] = {}  # flag id -> the patient key its alerts are keyed by
        self._one_check_at_a_time = asyncio.Lock()
        self.checks = 0  # checks done since start, for health and tests

    async def run(self, stop: asyncio.Event) -> None:
        topics = self.settings.topics
        partitions = await existing_partitions(
            self.settings.kafka, topics.alerts, topics.reviews, topics.cancer_flags
        )
        kafka = self.settings.kafka.aiokafka_options()
        self._producer = AIOKafkaProducer(**kafka, acks="all", enable_idempotence=True)
        consumer = AIOKafkaConsumer(**kafka, group_id=None, enable_auto_commit=False)
        await self._producer.start()
        await consumer.start()
        try:
            next_check = 0.0
            async for followed in read_and_follow(consumer, partitions, stop):
                for record, _ in followed.records:
                    self._hear(record)
                if not followed.caught_up:
                    continue
                if not self.ready.is_set():
                    self.ready.set()
                    log.info("escalation caught up")
                if time.monotonic() >= next_check:
                    await self.escalate_due()
                    next_check = time.monotonic() + self.settings.escalation_check_seconds
        finally:
            self.ready.clear()
            await consumer.stop()
            await self._producer.stop()

    async def escalate_due(self) -> int:
        """Escalate every overdue alert now; how many e-mails went."""
        s = self.settings
        sent = 0
        async with self._one_check_at_a_time:
            for escalation in self.watch.due(
                self.clock(), s.worklist_acknowledge_within_working_days, self.holidays, self.teams
            ):
                sent += await self._escalate(escalation)
            self.checks += 1
        return sent

    async def _escalate(self, escalation: Escalation) -> int:
        s = self.settings
        if escalation.mdt_lead_email is None:
            await self._record(escalation, "unroutable", detail="the team has no MDT lead")
            log.warning("overdue alert has no MDT lead", extra=_ids(escalation))
            return 0
        await self._record(escalation, "attempting")
        email = escalation_email(
            escalation,
            sender=s.smtp_from,
            working_days=s.worklist_acknowledge_within_working_days,
            worklist_url=s.worklist_public_url,
            now=self.clock(),
        )
        try:
            message_id = await self.mail.send(email)
        except (aiosmtplib.SMTPException, OSError) as error:
            await self._record(escalation, "failed", detail=type(error).__name__)
            log.error("escalation e-mail failed; tried again", extra=_ids(escalation))
            return 0
        await self._record(escalation, "escalated", transport_id=message_id)
        log.info("overdue alert escalated to the MDT lead", extra=_ids(escalation))
        return 1

    async def _record(self, escalation: Escalation, outcome: AlertOutcome, **extra: Any) -> None:
        event = escalation_event(escalation, outcome, self.clock(), **extra)
        assert self._producer is not None
        key = self._keys.get(escalation.alert.flag_id)
        await self._producer.send_and_wait(self.settings.topics.alerts, encode(event), key=key)
        self.watch.hear_alert(event)

    def _hear(self, record: Any) -> None:
        try:
            event = decode(record.value)
        except UndecodableEvent as error:
            # each topic's own consumers dead-letter what they cannot read; here it is only skipped
            log.warning(
                "unreadable event skipped", extra={"topic": record.topic, "reason": str(error)}
            )
            return
        if isinstance(event, AlertEvent):
            self.watch.hear_alert(event)
            if record.key is not None:
                self._keys.setdefault(event.flag_id, record.key)
        elif isinstance(event, ReviewEvent):
            self.watch.hear_review(event)
        elif isinstance(event, CancerFlag):
            self.watch.hear_flag(event)


def _ids(escalation: Escalation) -> dict[str, str]:
    return {"escalation_id": escalation.escalation_id, "flag_id": escalation.alert.flag_id}


def build(settings: EscalationSettings) -> EscalationLoop:
    """The composition root: settings -> directory, SMTP sender, loop."""
    return EscalationLoop(settings, load_directory(settings.directory_file), SmtpSender(settings))


async def _serve() -> int:
    loop = build(EscalationSettings())
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    await loop.run(stop)
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] in (["-h"], ["--help"]):
        print(__doc__)
        for name, field in EscalationSettings.model_fields.items():
            if name not in ("kafka", "topics"):
                print(f"  RMBC_{name.upper():<32} {field.description or ''}")
        print("  KAFKA_*, RMBC_TOPIC_ALERTS, RMBC_TOPIC_REVIEWS, RMBC_TOPIC_CANCER_FLAGS")
        return 0
    configure_logging(SERVICE)
    return asyncio.run(_serve())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
