"""The CNS e-mail channel against a real SMTP server."""

import asyncio
import socket
from typing import Any

import aiosmtplib.smtp
import pytest

from services.notifier import channels
from services.notifier.channels import SmtpChannel
from services.notifier.cns_email import Email
from services.notifier.settings import NotifierSettings
from tests.support.smtp import SmtpServer
from tests.unit.notifier.test_ledger_and_offsets import REQUIRED


def email(number: int) -> Email:
    message_id = f"<alert-{number}@rmbc.example>"
    data = f"Message-ID: {message_id}\r\nSubject: test {number}\r\n\r\nbody\r\n".encode()
    return Email("rmbc@x.nhs.net", "breast-cns@trust.example.nhs.uk", message_id, data)


@pytest.mark.parametrize("configured", ["rmbc-notifier.trust.example.nhs.uk", None])
async def test_each_ehlo_gives_the_name_looked_up_once(
    smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch, configured: str | None
) -> None:
    for name, value in {**REQUIRED, **smtp_server.env()}.items():
        monkeypatch.setenv(name, value)
    if configured:
        monkeypatch.setenv("RMBC_SMTP_LOCAL_HOSTNAME", configured)
    looked_up = []
    with monkeypatch.context() as at_start:  # the test's SMTP server looks its own name up
        at_start.setattr(socket, "getfqdn", lambda: looked_up.append(1) or "looked-up.example")
        channel = SmtpChannel(NotifierSettings())

    async def per_email_lookup(self: object) -> str:
        raise AssertionError("aiosmtplib looked the name up for an e-mail")

    monkeypatch.setattr(aiosmtplib.smtp.SMTP, "_get_default_local_hostname", per_email_lookup)
    for number in range(3):
        assert await channel.send(email(number)) == f"<alert-{number}@rmbc.example>"
    assert len(smtp_server.wait_for(3)) == 3
    assert smtp_server.hello_names == [configured or "looked-up.example"] * 3
    assert len(looked_up) == (0 if configured else 1)


@pytest.fixture
def channel_for(monkeypatch: pytest.MonkeyPatch) -> Any:
    def make(server: SmtpServer) -> SmtpChannel:
        for name, value in {**REQUIRED, **server.env()}.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("RMBC_SMTP_LOCAL_HOSTNAME", "rmbc-notifier.example")
        return SmtpChannel(NotifierSettings())

    return make


def to(recipient: str, number: int) -> Email:
    plain = email(number)
    return Email(plain.sender, recipient, plain.message_id, plain.data)


async def test_e_mails_in_a_row_share_one_connection(smtp_server: SmtpServer, channel_for):
    channel = channel_for(smtp_server)
    for number in range(3):
        await channel.send(email(number))
    assert len(smtp_server.wait_for(3)) == 3
    assert len(set(smtp_server.rcpt_peers)) == 1
    await channel.close()


async def test_concurrent_e_mails_each_get_a_connection_then_share_them(
    smtp_server: SmtpServer, channel_for
):
    channel = channel_for(smtp_server)
    await asyncio.gather(*(channel.send(email(number)) for number in range(3)))
    for number in range(3, 9):
        await channel.send(email(number))
    assert len(smtp_server.wait_for(9)) == 9
    assert len(set(smtp_server.rcpt_peers)) == 3
    await channel.close()


@pytest.mark.parametrize("noticed", [True, False], ids=["close-seen", "close-unseen"])
async def test_a_connection_the_server_closed_while_idle_is_replaced_not_failed(
    start_smtp_server, channel_for, monkeypatch: pytest.MonkeyPatch, noticed: bool
):
    server = start_smtp_server(timeout=0.3)  # the server drops a connection idle for 0.3 s
    channel = channel_for(server)
    await channel.send(email(1))
    await asyncio.sleep(1.0)
    if not noticed:  # the close still in flight when the next e-mail starts: MAIL FROM meets it
        stale = [client for _, client in channel._kept]
        seen = aiosmtplib.SMTP.is_connected.fget
        looks = property(lambda self: self in stale or seen(self))  # type: ignore[misc]
        monkeypatch.setattr(aiosmtplib.SMTP, "is_connected", looks)
    assert await channel.send(email(2)) == "<alert-2@rmbc.example>"
    assert [m["Message-ID"] for m in server.wait_for(2)] == [
        "<alert-1@rmbc.example>",
        "<alert-2@rmbc.example>",
    ]
    assert len(set(server.rcpt_peers)) == 2
    await channel.close()


async def test_a_refused_recipient_fails_the_send_and_its_connection_is_not_reused(
    smtp_server: SmtpServer, channel_for
):
    channel = channel_for(smtp_server)
    with pytest.raises(aiosmtplib.SMTPRecipientRefused):
        await channel.send(to("refused@trust.example.nhs.uk", 1))
    await channel.send(email(2))
    assert [m["Message-ID"] for m in smtp_server.wait_for(1)] == ["<alert-2@rmbc.example>"]
    first, second = smtp_server.rcpt_peers
    assert first != second
    await channel.close()


async def test_a_connection_idle_past_the_keep_time_is_closed_and_a_new_one_used(
    smtp_server: SmtpServer, channel_for, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(channels, "SMTP_KEEP_IDLE_SECONDS", 0.2)
    channel = channel_for(smtp_server)
    await channel.send(email(1))
    await asyncio.sleep(0.4)
    await channel.send(email(2))
    assert len(smtp_server.wait_for(2)) == 2
    assert len(set(smtp_server.rcpt_peers)) == 2
    await channel.close()
