"""The GP practice's mailbox found by MESH endpoint lookup (ODS code + workflow id) in a real
mesh-sandbox, when the directory has no entry for the practice."""

import orjson
import pytest

from services.notifier.decisions import alert_id
from tests.integration.notifier.harness import mesh_inbox, send_flag, wait_events
from tests.support.send_document import read_send_document
from tests.unit.notifier.factory import CNS_EMAIL, NHS_NUMBER, TRUST_ODS, flag, patient

SANDBOX_ODS = "X26"  # the sandbox's data: X26 receives TEST_WORKFLOW at mailbox X26ABC2


@pytest.fixture
def directory_file(tmp_path):
    path = tmp_path / "directory.json"
    team = {"name": "Breast CNS team", "email": CNS_EMAIL}
    providers = {TRUST_ODS: {"name": "Example Hospitals NHS Foundation Trust", "cns_team": team}}
    path.write_bytes(orjson.dumps({"gp_practices": {}, "providers": providers}))
    return path


async def test_a_practice_missing_from_the_directory_is_reached_through_endpoint_lookup(
    kafka_settings, topics, mesh, smtp_server, start
):
    start()
    raised = flag(patient=patient(gp_practice_ods=SANDBOX_ODS))
    await send_flag(kafka_settings, topics, raised)
    [sent] = await wait_events(
        kafka_settings, topics.alerts, lambda e: e.channel == "mesh" and e.outcome == "sent"
    )
    assert sent.recipient == mesh.gp_mailbox
    assert sent.alert_id == alert_id(raised.flag_id, mesh.gp_mailbox, "alert")
    [message_id] = mesh_inbox(mesh, mesh.gp_mailbox)
    with mesh.client(mesh.gp_mailbox) as client:
        body = client.retrieve_message(message_id).read()
    assert read_send_document(body).patient.identifier[0].value == NHS_NUMBER
    [cns] = smtp_server.wait_for(1)
    assert "GP NOT REACHABLE" not in cns.get_body(("plain",)).get_content()


async def test_a_practice_endpoint_lookup_cannot_find_is_unroutable_and_the_cns_team_hears(
    kafka_settings, topics, mesh, smtp_server, start
):
    start()
    await send_flag(kafka_settings, topics, flag(patient=patient(gp_practice_ods="Y99")))
    [unroutable] = await wait_events(
        kafka_settings, topics.alerts, lambda e: e.outcome == "unroutable"
    )
    assert unroutable.channel == "mesh" and "endpoint lookup" in unroutable.detail
    [cns] = smtp_server.wait_for(1)
    assert "GP NOT REACHABLE" in cns.get_body(("plain",)).get_content()
