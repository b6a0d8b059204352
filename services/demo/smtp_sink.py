"""A real SMTP server (aiosmtpd) that keeps what it receives: the demo's mail sink."""

import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from services.broker import free_port


@dataclass
class CapturedMail:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class _Capture:
    mails: list[CapturedMail] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    spool: Path | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        mail = CapturedMail(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content))
        with self.lock:
            self.mails.append(mail)
            if self.spool:
                (self.spool / f"{len(self.mails):05d}.eml").write_bytes(mail.content)
        return "250 OK"


class SmtpSink:
    def __init__(self, spool: Path | None = None) -> None:
        self.port = free_port()  # aiosmtpd cannot bind port 0 (it connects to itself to start)
        self._capture = _Capture(spool=spool)
        if spool:
            spool.mkdir(parents=True, exist_ok=True)
        self._controller = Controller(self._capture, hostname="127.0.0.1", port=self.port)
        self._started = False

    def start(self) -> "SmtpSink":
        self._controller.start()
        self._started = True
        return self

    def stop(self) -> None:
        if self._started:
            self._controller.stop()
            self._started = False

    @property
    def mails(self) -> list[CapturedMail]:
        with self._capture.lock:
            return list(self._capture.mails)
