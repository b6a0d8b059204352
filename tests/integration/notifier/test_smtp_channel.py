"""The CNS e-mail channel against a real SMTP server."""

import socket

import aiosmtplib.smtp
import pytest

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
