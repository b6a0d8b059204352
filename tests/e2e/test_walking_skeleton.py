"""One patient's recurrence travels ingest -> classifier -> notifier through the real broker and
reaches the registry topic, the GP's MESH inbox and the CNS team's mailbox."""

import asyncio
import json
import time
from email import message_from_bytes, policy
from typing import Any

import httpx
from mesh_client import MeshClient

from services.demo.pipeline import GP_MAILBOXES, Pipeline
from services.demo.stack import MESH_PASSWORD, MESH_SHARED_KEY
from shared.codec import decode_as
from shared.events import CancerFlag, RegistryRecord
from shared.settings import KafkaSettings
from tests.e2e.conftest import CNS_TEAM, GP_PRACTICE, TRUST
from tests.support.kafka import read_topic

NHS = "https://fhir.nhs.uk/Id/nhs-number"
ODS = "https://fhir.nhs.uk/Id/ods-organization-code"
SCT = "http://snomed.info/sct"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
NHS_NUMBER = "9434765919"


def patient() -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": "pat-1",
        "meta": {"versionId": "1", "lastUpdated": "2019-03-01T09:00:00Z"},
        "identifier": [{"system": NHS, "value": NHS_NUMBER}],
        "name": [{"family": "Brontë", "given": ["Anne"]}],
        "birthDate": "1961-04-12",
        "gender": "female",
        "generalPractitioner": [{"identifier": {"system": ODS, "value": GP_PRACTICE}}],
        "managingOrganization": {"identifier": {"system": ODS, "value": TRUST}},
    }


def condition(
    cid: str, version: str, updated: str, code: tuple[str, str], onset: str, clinical: str
) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": cid,
        "meta": {"versionId": version, "lastUpdated": updated},
        "clinicalStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": clinical,
                }
            ]
        },
        "verificationStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                    "code": "confirmed",
                }
            ]
        },
        "code": {"coding": [{"system": code[0], "code": code[1]}]},
        "subject": {
            "reference": "Patient/pat-1",
            "identifier": {"system": NHS, "value": NHS_NUMBER},
        },
        "onsetDateTime": onset,
    }


def post(pipeline: Pipeline, resource: dict[str, Any]) -> httpx.Response:
    return httpx.post(
        f"{pipeline.ingest_url}/fhir/{resource['resourceType']}",
        json=resource,
        headers={
            "Authorization": f"Bearer {pipeline.token}",
            "Content-Type": "application/fhir+json",
        },
        timeout=10,
    )


def gp_inbox(pipeline: Pipeline, deadline: float) -> list[bytes]:
    with MeshClient(
        pipeline.mesh_url,
        GP_MAILBOXES[0],
        MESH_PASSWORD,
        shared_key=MESH_SHARED_KEY.encode(),
        max_retries=0,
    ) as inbox:
        while time.monotonic() < deadline:
            ids = inbox.list_messages()
            if ids:
                bodies = []
                for message_id in ids:
                    message = inbox.retrieve_message(message_id)
                    bodies.append(message.read())
                    message.acknowledge()
                return bodies
            time.sleep(0.3)
    raise AssertionError("no message reached the GP practice's MESH inbox")


async def test_a_bone_secondary_after_remission_reaches_registry_gp_and_cns(
    pipeline: Pipeline, kafka_settings: KafkaSettings
) -> None:
    primary = ("c-primary", (ICD10, "C50.4"), "2019-03-01")
    sent = [
        patient(),
        condition(primary[0], "1", "2019-03-02T10:00:00Z", primary[1], primary[2], "active"),
        condition(primary[0], "2", "2020-02-01T10:00:00Z", primary[1], primary[2], "remission"),
        condition("c-bone", "1", "2024-06-10T10:00:00Z", (SCT, "94222008"), "2024-06-10", "active"),
    ]
    for resource in sent:
        response = post(pipeline, resource)
        assert response.status_code in (200, 201), response.text

    flags = await read_topic(
        kafka_settings, pipeline.topics.cancer_flags, until=lambda rs: len(rs) >= 1, timeout=60
    )
    flag = decode_as(flags[-1].value, CancerFlag)
    assert (flag.state, flag.kind, flag.recurrence) == ("raised", "recurrence", True)
    assert flag.metastatic_sites == ["bone"] and flag.recurrence_types == ["distant"]
    assert flag.patient_key == NHS_NUMBER

    records = await read_topic(
        kafka_settings, pipeline.topics.registry_records, until=lambda rs: len(rs) >= 1, timeout=60
    )
    record = decode_as(records[0].value, RegistryRecord)
    assert record.cr0010_nhs_number == NHS_NUMBER
    assert record.cr7100_original_primary_icd == "C50.4"
    assert [(m.cr6520_metastatic_type, m.cr1590_metastatic_site) for m in record.metastases] == [
        ("03", "10")
    ]

    letters = gp_inbox(pipeline, time.monotonic() + 60)
    assert len(letters) == 1
    parts = {
        part.get_content_type(): part.get_content()
        for part in message_from_bytes(letters[0], policy=policy.default).walk()
        if not part.is_multipart()
    }
    assert "943 476 5919" in parts["text/html"] or NHS_NUMBER in parts["text/html"]
    communication = json.loads(parts["application/fhir+json"])
    assert communication["resourceType"] == "Communication"

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not pipeline.smtp.mails:
        await asyncio.sleep(0.2)
    assert [mail.rcpt_tos for mail in pipeline.smtp.mails] == [[CNS_TEAM]]
    assert NHS_NUMBER not in str(pipeline.smtp.mails[0].message["Subject"])
