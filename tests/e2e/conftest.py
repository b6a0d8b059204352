"""The whole pipeline as real processes against the session's real broker."""

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.demo.pipeline import GP_MAILBOXES, Pipeline, directory_document
from shared.settings import KafkaSettings
from shared.topics import TopicNames

GP_PRACTICE = "A81001"
UNLISTED_PRACTICE = "Y99999"
TRUST = "RX1"
CNS_TEAM = "breast-cns@trust.example.nhs.uk"


@pytest.fixture(scope="module")
def pipeline(
    kafka_settings: KafkaSettings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pipeline]:
    run = uuid.uuid4().hex[:10]
    directory = directory_document(
        gp_practices={GP_PRACTICE: GP_MAILBOXES[0]},
        cns_teams={TRUST: CNS_TEAM},
        default_cns=CNS_TEAM,
    )
    work_dir = Path(tmp_path_factory.mktemp("pipeline"))
    with Pipeline(
        work_dir, kafka_settings, TopicNames.with_suffix(run), directory, app_id=f"rmbc-e2e-{run}"
    ) as running:
        yield running
