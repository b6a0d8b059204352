"""A real SMTP server (aiosmtpd) that captures what it receives.

Fixtures: `smtp_server` (per test: host, port, `messages` parsed, `envelopes` raw, `env()` for a
notifier subprocess), `start_smtp_server` (the same with server options, e.g. an idle timeout)
and `dead_smtp_port` (a port where nothing listens). Recipients starting `refused` are refused.
"""

import email
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import Message
from email.policy import default
from typing import Any

import pytest
from aiosmtpd.controller import Controller


class _Capture:
    def __init__(self) -> None:
        self.envelopes: list[Any] = []
        self.hello_names: list[str] = []
        self.rcpt_peers: list[Any] = []  # the client address (one per connection) of each RCPT
        self.lock = threading.Lock()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        with self.lock:
            self.rcpt_peers.append(session.peer)
        if address.startswith("refused"):
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.envelopes.append(envelope)
            self.hello_names.append(session.host_name)
        return "250 OK"


@dataclass
class SmtpServer:
    host: str
    port: int
    _capture: _Capture = field(repr=False)
    sender: str = "rmbc@example-hospitals.nhs.net"

    @property
    def envelopes(self) -> list[Any]:
        with self._capture.lock:
            return list(self._capture.envelopes)

    @property
    def hello_names(self) -> list[str]:
        """The name each e-mail's client gave in EHLO."""
        with self._capture.lock:
            return list(self._capture.hello_names)

    @property
    def rcpt_peers(self) -> list[Any]:
        """The client address of each RCPT: one address per connection."""
        with self._capture.lock:
            return list(self._capture.rcpt_peers)

    @property
    def messages(self) -> list[Message]:
        return [email.message_from_bytes(e.content, policy=default) for e in self.envelopes]

    def wait_for(self, count: int, timeout: float = 20.0) -> list[Message]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.envelopes) >= count:
                return self.messages
            time.sleep(0.05)
        raise AssertionError(f"{len(self.envelopes)} e-mail(s) within {timeout}s, wanted {count}")

    def env(self) -> dict[str, str]:
        return {
            "RMBC_SMTP_HOST": self.host,
            "RMBC_SMTP_PORT": str(self.port),
            "RMBC_SMTP_STARTTLS": "false",
            "RMBC_SMTP_FROM": self.sender,
        }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def start_smtp_server() -> Iterator[Callable[..., SmtpServer]]:
    controllers: list[Controller] = []

    def start(**server_options: Any) -> SmtpServer:
        capture = _Capture()
        # port 0 does not work: Controller.start() connects to the given port to check it is up
        controller = Controller(capture, hostname="127.0.0.1", port=free_port(), **server_options)
        controller.start()
        controllers.append(controller)
        return SmtpServer("127.0.0.1", controller.port, capture)

    try:
        yield start
    finally:
        for controller in controllers:
            controller.stop()


@pytest.fixture
def smtp_server(start_smtp_server: Callable[..., SmtpServer]) -> SmtpServer:
    return start_smtp_server()


@pytest.fixture
def dead_smtp_port() -> int:
    """A loopback port with nothing listening: connections are refused at once."""
    return free_port()
