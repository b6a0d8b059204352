"""Rendering a flag's alerts (the GP document, the CNS e-mail) off the event loop.

A flag's payloads are rendered together, the GP document first, so that the CNS e-mail of the
same purpose attaches the very PDF the practice is sent: one PDF per flag revision. Rendering is
CPU work of several milliseconds (fpdf2, then the STU3 models' validation), so it runs in a worker
thread of its own: the consume loop only schedules it and moves on to the next flag, and the
delivery tasks await the result. One thread, because under the GIL more threads would not render
faster; the MESH and SMTP channels keep their own threads and connections for their I/O.
"""

import asyncio
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from services.notifier.channels import MeshDocument
from services.notifier.cns_email import cns_email
from services.notifier.decisions import Delivery
from services.notifier.directory import Directory
from services.notifier.facts import facts_for
from services.notifier.gp_message import CONTENT_TYPE, send_document
from shared.events import CancerFlag

Payloads = Mapping[str, Any]  # alert id -> what its channel sends


def render_all(
    flag: CancerFlag,
    deliveries: tuple[Delivery, ...],
    now: datetime,
    directory: Directory,
    *,
    mesh_mailbox: str,
    smtp_from: str,
) -> dict[str, Any]:
    """Each delivery's payload (pure)."""
    payloads: dict[str, Any] = {}
    letters: dict[str, bytes] = {}
    for delivery in sorted(deliveries, key=lambda d: d.channel != "mesh"):
        facts = facts_for(flag, delivery, directory)
        if delivery.channel == "mesh":
            sent = send_document(
                facts, now, sender_mailbox=mesh_mailbox, recipient_ods=flag.patient.gp_practice_ods
            )
            letters[delivery.purpose] = sent.pdf
            payloads[delivery.alert_id] = MeshDocument(
                delivery.recipient, sent.message_header_id, sent.subject, sent.body, CONTENT_TYPE
            )
        else:
            payloads[delivery.alert_id] = cns_email(
                facts,
                sender=smtp_from,
                recipient=delivery.recipient,
                sent_at=now,
                letter=letters.get(delivery.purpose),
            )
    return payloads


class Renderer:
    """Schedules `render_all` on the rendering thread; the future is shared by a flag's jobs."""

    def __init__(self, directory: Directory, *, mesh_mailbox: str, smtp_from: str) -> None:
        self._directory = directory
        self._mesh_mailbox = mesh_mailbox
        self._smtp_from = smtp_from
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rmbc-render")

    def render(
        self, flag: CancerFlag, deliveries: tuple[Delivery, ...], now: datetime
    ) -> "asyncio.Future[Payloads]":
        return asyncio.get_running_loop().run_in_executor(
            self._thread, self.render_now, flag, deliveries, now
        )

    def render_now(
        self, flag: CancerFlag, deliveries: tuple[Delivery, ...], now: datetime
    ) -> dict[str, Any]:
        return render_all(
            flag,
            deliveries,
            now,
            self._directory,
            mesh_mailbox=self._mesh_mailbox,
            smtp_from=self._smtp_from,
        )

    def close(self) -> None:
        self._thread.shutdown(wait=False, cancel_futures=True)
