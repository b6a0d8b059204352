"""docker-compose.yml cannot run here (no Docker engine); these tests hold it to the conventions."""

import re
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from services.cli import COMMANDS
from services.notifier.directory import load_directory
from shared.topics import TopicNames

RMBC_SERVICES = {"ingest": "RMBC_INGEST_PORT", "classifier": "RMBC_CLASSIFIER_WEB_PORT",
                 "notifier": "RMBC_NOTIFIER_HTTP_PORT",
                 "worklist": "RMBC_WORKLIST_HTTP_PORT"}  # fmt: skip
PINNED_TAG = re.compile(r"^[\w./-]+:(?!latest\b)[\w.-]*\d[\w.-]*(@sha256:[0-9a-f]{64})?$")
DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
REQUIRED = re.compile(r"^\$\{(?P<name>[A-Z0-9_]+):\?[^}]+\}$")
SECRET_NAME = re.compile(r"TOKEN|PASSWORD|SHARED_KEY|SECRET")
SANDBOX_MAILBOXES = {"X26ABC1", "X26ABC2", "X26ABC3"}


def one_shot(service: dict[str, Any]) -> bool:
    return service.get("restart") == "no"


def environment(service: dict[str, Any]) -> dict[str, str]:
    return {name: str(value) for name, value in service.get("environment", {}).items()}


def test_the_stack_has_kafka_mesh_sandbox_a_mail_sink_the_services_and_a_registry_consumer(
    compose,
):
    assert {"kafka", "kafka-init", "mesh-sandbox", "mailpit", "ingest", "classifier", "notifier",
            "worklist", "registry-agree", "registry-consumer"} <= set(compose["services"])  # fmt: skip


def test_every_image_is_pinned_and_every_pulled_image_to_a_digest(compose):
    for name, service in compose["services"].items():
        image = service["image"]
        assert PINNED_TAG.match(image), f"{name}: {image} is not pinned to a version"
        if "build" not in service:
            assert DIGEST.search(image), f"{name}: pulled image {image} has no digest"


def test_kafka_is_the_same_apache_kafka_version_as_the_local_broker(compose, project_root):
    pom = ElementTree.parse(project_root / "deploy" / "kafka" / "pom.xml")
    local = pom.find("{http://maven.apache.org/POM/4.0.0}properties/"
                     "{http://maven.apache.org/POM/4.0.0}kafka.version").text  # fmt: skip
    assert compose["services"]["kafka"]["image"].startswith(f"apache/kafka:{local}@")


def test_every_long_running_service_has_a_healthcheck(compose):
    for name, service in compose["services"].items():
        if not one_shot(service):
            assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"


def test_every_dependency_waits_for_health_or_completion(compose):
    services = compose["services"]
    for name, service in services.items():
        depends_on = service.get("depends_on", {})
        assert isinstance(depends_on, dict), f"{name}: depends_on without conditions"
        for dependency, rule in depends_on.items():
            wanted = (
                "service_completed_successfully"
                if one_shot(services[dependency])
                else "service_healthy"
            )
            assert rule == {"condition": wanted}, f"{name} -> {dependency}: {rule}"


def test_the_services_wait_for_kafka_and_its_topics(compose):
    for name in [*RMBC_SERVICES, "registry-agree", "registry-consumer"]:
        assert {"kafka", "kafka-init"} <= set(compose["services"][name]["depends_on"])


def test_secrets_are_required_from_the_environment_and_never_written_in(compose):
    secrets = 0
    for name, service in compose["services"].items():
        for variable, value in environment(service).items():
            if SECRET_NAME.search(variable):
                secrets += 1
                assert REQUIRED.match(value), f"{name}.{variable} must be ${{VAR:?message}}"
    assert secrets >= 5  # ingest tokens, MESH password and key (twice), SMTP password


def test_the_notifier_requires_mesh_and_smtp_credentials(compose):
    env = environment(compose["services"]["notifier"])
    for variable in ("RMBC_MESH_PASSWORD", "RMBC_MESH_SHARED_KEY", "RMBC_SMTP_PASSWORD"):
        match = REQUIRED.match(env[variable])
        assert match and match["name"] == variable


def test_the_worklist_requires_its_sign_in_settings_and_secrets_and_runs_the_escalation(compose):
    env = environment(compose["services"]["worklist"])
    for variable in ("RMBC_WORKLIST_OIDC_ISSUER", "RMBC_WORKLIST_OIDC_CLIENT_ID",
                     "RMBC_WORKLIST_OIDC_CLIENT_SECRET", "RMBC_WORKLIST_SESSION_SECRET",
                     "RMBC_SMTP_PASSWORD"):  # fmt: skip
        match = REQUIRED.match(env[variable])
        assert match and match["name"] == variable
    assert env["RMBC_WORKLIST_ESCALATION"] == "true"
    assert env["RMBC_DIRECTORY_FILE"] == "/etc/rmbc/directory.json"


def test_exactly_one_service_runs_the_escalation_loop(compose):
    running = [
        name
        for name, service in compose["services"].items()
        if service.get("command") == ["worklist"]
        and environment(service).get("RMBC_WORKLIST_ESCALATION", "true") != "false"
    ]
    assert running == ["worklist"]


def test_registry_agree_runs_its_rmbc_command_and_is_healthy_only_while_it_polls(compose):
    agree = compose["services"]["registry-agree"]
    assert agree["command"] == ["registry", "agree"] and "registry" in COMMANDS
    heartbeat = environment(agree)["RMBC_REGISTRY_AGREE_HEARTBEAT_FILE"]
    assert heartbeat in " ".join(agree["healthcheck"]["test"])


def test_the_demo_env_file_sets_every_required_variable(compose, project_root):
    values = [v for s in compose["services"].values() for v in environment(s).values()]
    required = {m["name"] for m in map(REQUIRED.match, values) if m}
    demo = (project_root / "deploy" / "compose" / "demo.env").read_text()
    defined = {line.split("=", 1)[0] for line in demo.splitlines() if "=" in line}
    assert required and required <= defined


def test_the_services_run_rmbc_commands_from_the_one_image(compose):
    for name in RMBC_SERVICES:
        service = compose["services"][name]
        assert service["command"] == [name] and name in COMMANDS
        assert service["build"] == {"context": ".", "dockerfile": "deploy/Dockerfile",
                                    "target": "rmbc"}  # fmt: skip


def test_each_service_healthcheck_asks_its_own_port_whether_it_is_ready(compose):
    for name, port_variable in RMBC_SERVICES.items():
        service = compose["services"][name]
        probe = " ".join(service["healthcheck"]["test"])
        port = environment(service)[port_variable]
        assert f"http://127.0.0.1:{port}/readyz" in probe, probe
        assert any(str(p).endswith(f":{port}:{port}") for p in service["ports"])


def test_the_services_take_bootstrap_servers_and_every_topic_from_the_environment(compose):
    topics = {
        f"RMBC_TOPIC_{field.upper()}": name for field, name in TopicNames().model_dump().items()
    }
    for name in [*RMBC_SERVICES, "registry-agree", "registry-consumer", "kafka-init"]:
        env = environment(compose["services"][name])
        assert env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
        assert {
            k: v for k, v in env.items() if k.startswith("RMBC_TOPIC_") and k in topics
        } == topics


def test_published_ports_listen_on_loopback_only(compose):
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} on every interface"


def test_files_mounted_into_containers_exist_in_the_repository(compose, project_root):
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("."):
                assert (project_root / source).is_file(), f"{name} mounts missing {source}"
            else:
                assert source in compose["volumes"], f"{name} uses undeclared volume {source}"


def test_the_compose_directory_routes_gp_letters_to_mesh_sandbox_mailboxes(project_root):
    directory = load_directory(project_root / "deploy" / "compose" / "directory.json")
    mailboxes = {practice.mesh_mailbox for practice in directory.gp_practices.values()}
    assert mailboxes and mailboxes <= SANDBOX_MAILBOXES
    assert directory.fallback_cns_team is not None


def test_kafka_init_creates_the_topics_with_rmbc_topics_create_in_the_cluster_layout(compose):
    init = compose["services"]["kafka-init"]
    assert init["image"] == compose["services"]["ingest"]["image"]
    command = init["command"]
    assert command[:2] == ["topics", "create"] and "topics" in COMMANDS
    args = dict(zip(command[2::2], command[3::2], strict=True))
    # one broker holds one replica; the partitions are the cluster's, as the KafkaTopics say
    assert args == {"--layout": "cluster", "--replication-factor": "1",
                    "--min-insync-replicas": "1"}  # fmt: skip
    assert compose["services"]["kafka"]["environment"]["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"


def test_no_compose_service_sets_a_classifier_partition_count_that_could_disagree(compose):
    for service in compose["services"].values():
        assert not any("PARTITIONS" in variable for variable in environment(service))


def test_build_targets_named_in_compose_exist_in_the_dockerfile(compose, project_root):
    dockerfile = Path(project_root / "deploy" / "Dockerfile").read_text()
    stages = set(re.findall(r"^FROM \S+ AS (\S+)$", dockerfile, flags=re.MULTILINE))
    targets = {s["build"]["target"] for s in compose["services"].values() if "build" in s}
    assert targets == {"rmbc", "mesh-sandbox"} and targets <= stages
