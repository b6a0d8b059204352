"""The deployment files, loaded once per session."""

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.unit.deploy.strimzi_schemas import crd_schemas

PROJECT_ROOT = Path(__file__).resolve().parents[3]
K8S = PROJECT_ROOT / "deploy" / "k8s"


@pytest.fixture(scope="session")
def project_root() -> Path:
    return PROJECT_ROOT


@pytest.fixture(scope="session")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())
    return loaded


@pytest.fixture(scope="session")
def manifests() -> list[tuple[str, dict[str, Any]]]:
    """(file name, document) for every Kubernetes manifest, in apply order."""
    documents = []
    for path in sorted(K8S.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if document is not None:
                documents.append((path.name, document))
    return documents


@pytest.fixture(scope="session")
def strimzi_schemas() -> dict[str, dict[str, Any]]:
    return crd_schemas()
