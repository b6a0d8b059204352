"""A hung MESH endpoint delays only the GP letter: the CNS e-mail and the registry record go out
at once, and the letter follows, exactly once, when MESH answers again.

The hang is real: the mesh-sandbox process is stopped (SIGSTOP), so connections open but nothing
answers, the worst kind of slow; SIGCONT lets it answer the requests it was holding.
"""

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Iterator

from services.demo.pipeline import Pipeline
from services.demo.readback import read_all
from shared.codec import decode
from shared.events import AlertEvent, RegistryRecord
from tests.e2e.conftest import CNS_TEAM
from tests.e2e.test_walking_skeleton import ICD10, SCT, condition, gp_inbox, patient, post
from tests.support.kafka import read_topic


@contextlib.contextmanager
def hung(pipeline: Pipeline) -> Iterator[None]:
    process = pipeline.mesh.process
    assert process is not None
    os.kill(process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(process.pid, signal.SIGCONT)


def mesh_outcomes(pipeline: Pipeline) -> list[str]:
    records = asyncio.run(read_all(pipeline.kafka, pipeline.topics.alerts))
    alerts = [decode(record.value) for record in records]
    return [a.outcome for a in alerts if isinstance(a, AlertEvent) and a.channel == "mesh"]


def test_a_hung_mesh_delays_only_the_gp_letter_which_follows_once_mesh_answers(
    pipeline: Pipeline,
) -> None:
    primary = (ICD10, "C50.4")
    with hung(pipeline):
        began = time.monotonic()
        for resource in (
            patient(),
            condition("c-primary", "1", "2019-03-02T10:00:00Z", primary, "2019-03-01", "active"),
            condition("c-primary", "2", "2020-02-01T10:00:00Z", primary, "2019-03-01", "remission"),
            condition("c-bone", "1", "2024-06-10T10:00:00Z", (SCT, "94222008"), "2024-06-10", "active"),
        ):  # fmt: skip
            assert post(pipeline, resource).status_code in (200, 201)

        records = asyncio.run(
            read_topic(
                pipeline.kafka,
                pipeline.topics.registry_records,
                until=lambda rs: len(rs) >= 1,
                timeout=30,
            )
        )
        assert decode(records[0].value).__class__ is RegistryRecord
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not pipeline.smtp.mails:
            time.sleep(0.2)
        assert [mail.rcpt_tos for mail in pipeline.smtp.mails] == [[CNS_TEAM]]
        cns_seconds = time.monotonic() - began
        assert "sent" not in mesh_outcomes(pipeline)  # the letter is still waiting on MESH

    letters = gp_inbox(pipeline, time.monotonic() + 90)
    assert len(letters) == 1
    assert mesh_outcomes(pipeline).count("sent") == 1
    assert cns_seconds < 30
