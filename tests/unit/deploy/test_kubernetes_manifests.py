"""deploy/k8s: every manifest valid against its schema, and wired the way the services expect."""

import copy
from typing import Any

import jsonschema
import kubernetes_validate
import pytest

from services.cli import COMMANDS
from services.notifier.directory import Directory
from shared.topics import CLUSTER, TopicNames, topic_specs

# the oldest Kubernetes the manifests promise to work on, and the newest the validator knows
KUBERNETES_VERSIONS = ["1.30.0", kubernetes_validate.latest_version()]
STRIMZI_KINDS = {"Kafka", "KafkaNodePool", "KafkaTopic", "KafkaUser"}
WORKLOADS = {"Deployment", "StatefulSet"}
HTTP_PORT_VARIABLE = {
    "rmbc-ingest": "RMBC_INGEST_PORT",
    "rmbc-classifier": "RMBC_CLASSIFIER_WEB_PORT",
    "rmbc-notifier": "RMBC_NOTIFIER_HTTP_PORT",
    "rmbc-worklist": "RMBC_WORKLIST_HTTP_PORT",
}
NO_HTTP = {"rmbc-registry-agree"}  # serves nothing: a heartbeat file says it is alive
COMMAND = {"rmbc-registry-agree": ["registry", "agree"]}  # the others: their name
STRIMZI_CA_SECRET = "rmbc-kafka-cluster-ca-cert"


def of_kind(manifests, *kinds: str) -> list[dict[str, Any]]:
    return [document for _, document in manifests if document["kind"] in kinds]


def named(manifests, kind: str, name: str) -> dict[str, Any]:
    (document,) = [d for d in of_kind(manifests, kind) if d["metadata"]["name"] == name]
    return document


def containers(workload: dict[str, Any]) -> list[dict[str, Any]]:
    pod: list[dict[str, Any]] = workload["spec"]["template"]["spec"]["containers"]
    return pod


def env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def http_workloads(manifests) -> list[dict[str, Any]]:
    return [w for w in of_kind(manifests, *WORKLOADS) if w["metadata"]["name"] not in NO_HTTP]


def partitions(manifests, topic: str) -> int:
    (kafka_topic,) = [
        t for t in of_kind(manifests, "KafkaTopic") if t["spec"]["topicName"] == topic
    ]
    count: int = kafka_topic["spec"]["partitions"]
    return count


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_kubernetes_manifest_is_valid_against_the_kubernetes_schemas(manifests, version):
    built_in = [(f, d) for f, d in manifests if d["kind"] not in STRIMZI_KINDS]
    assert len(built_in) >= 10
    for file, document in built_in:
        try:
            kubernetes_validate.validate(document, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{file} {document['kind']}: {error.message} at {list(error.path)}")


def test_the_kubernetes_validator_rejects_a_misspelt_field(manifests):
    deployment = copy.deepcopy(named(manifests, "Deployment", "rmbc-ingest"))
    deployment["spec"]["replica"] = deployment["spec"].pop("replicas")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[0], strict=True)


def test_every_strimzi_resource_is_valid_against_the_strimzi_crd_schema(manifests, strimzi_schemas):
    resources = [(f, d) for f, d in manifests if d["kind"] in STRIMZI_KINDS]
    assert {d["kind"] for _, d in resources} == STRIMZI_KINDS
    for file, document in resources:
        assert document["apiVersion"] == "kafka.strimzi.io/v1"
        errors = list(
            jsonschema.Draft7Validator(strimzi_schemas[document["kind"]]).iter_errors(document)
        )
        assert not errors, f"{file} {document['kind']}: " + "; ".join(
            f"{'.'.join(map(str, e.path))}: {e.message}" for e in errors
        )


def test_the_strimzi_schemas_reject_a_misspelt_field(manifests, strimzi_schemas):
    topic = copy.deepcopy(of_kind(manifests, "KafkaTopic")[0])
    topic["spec"]["replica"] = topic["spec"].pop("replicas")
    assert not jsonschema.Draft7Validator(strimzi_schemas["KafkaTopic"]).is_valid(topic)


def test_kafka_runs_three_brokers_and_three_controllers_in_kraft_node_pools(manifests):
    (kafka,) = of_kind(manifests, "Kafka")
    # Strimzi 1.x runs only KRaft with node pools: the old opt-in annotations are gone
    assert "annotations" not in kafka["metadata"]
    pools = of_kind(manifests, "KafkaNodePool")
    assert {p["metadata"]["labels"]["strimzi.io/cluster"] for p in pools} == {
        kafka["metadata"]["name"]
    }
    for role in ("broker", "controller"):
        assert sum(p["spec"]["replicas"] for p in pools if role in p["spec"]["roles"]) == 3


def test_kafka_replicates_three_times_and_acknowledges_a_write_on_two_replicas(manifests):
    (kafka,) = of_kind(manifests, "Kafka")
    config = kafka["spec"]["kafka"]["config"]
    assert config["default.replication.factor"] == 3
    assert config["min.insync.replicas"] == 2
    assert config["offsets.topic.replication.factor"] == 3
    assert config["transaction.state.log.replication.factor"] == 3
    assert config["unclean.leader.election.enable"] is False


def test_every_kafka_topic_is_exactly_the_one_topic_definition_for_a_cluster(manifests):
    """The KafkaTopic resources are checked against shared/topics.py, the definition `rmbc
    topics create` follows: partitions, replicas and every config value."""
    topics = {t["spec"]["topicName"]: t["spec"] for t in of_kind(manifests, "KafkaTopic")}
    specs = {spec.name: spec for spec in topic_specs(TopicNames(), CLUSTER)}
    assert set(topics) == set(specs)
    for name, spec in specs.items():
        written = topics[name]
        assert (written["partitions"], written["replicas"]) == (
            spec.partitions,
            spec.replication_factor,
        ), name
        assert {key: str(value) for key, value in written["config"].items()} == spec.config, name


def test_the_services_read_the_topic_names_the_cluster_creates(manifests):
    client = named(manifests, "ConfigMap", "rmbc-kafka-client")["data"]
    expected = {f"RMBC_TOPIC_{f.upper()}": n for f, n in TopicNames().model_dump().items()}
    assert {k: v for k, v in client.items() if k.startswith("RMBC_TOPIC_")} == expected


def test_every_service_probes_its_health_endpoints_on_its_own_http_port(manifests):
    workloads = of_kind(manifests, *WORKLOADS)
    assert {w["metadata"]["name"] for w in workloads} == set(HTTP_PORT_VARIABLE) | NO_HTTP
    for workload in http_workloads(manifests):
        (container,) = containers(workload)
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert (
            int(env(container)[HTTP_PORT_VARIABLE[workload["metadata"]["name"]]]) == ports["http"]
        )
        for probe, path in (("livenessProbe", "/healthz"), ("startupProbe", "/healthz"),
                            ("readinessProbe", "/readyz")):  # fmt: skip
            assert container[probe]["httpGet"] == {"path": path, "port": "http"}, probe


def test_every_container_has_resource_requests_and_limits(manifests):
    for workload in of_kind(manifests, *WORKLOADS):
        for container in containers(workload):
            assert {"cpu", "memory"} <= set(container["resources"]["requests"])
            assert {"cpu", "memory"} <= set(container["resources"]["limits"])


def test_every_pod_runs_as_non_root_with_a_read_only_root_filesystem(manifests):
    for workload in of_kind(manifests, *WORKLOADS):
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] != 0
        assert pod["automountServiceAccountToken"] is False
        for container in containers(workload):
            security = container["securityContext"]
            assert security["allowPrivilegeEscalation"] is False
            assert security["readOnlyRootFilesystem"] is True
            assert security["capabilities"] == {"drop": ["ALL"]}


def test_images_are_pinned_to_a_version(manifests):
    for workload in of_kind(manifests, *WORKLOADS):
        for container in containers(workload):
            name, _, tag = container["image"].rpartition(":")
            assert name and tag and tag != "latest" and any(c.isdigit() for c in tag)


def test_the_services_run_their_rmbc_commands(manifests):
    for workload in of_kind(manifests, *WORKLOADS):
        (container,) = containers(workload)
        name = workload["metadata"]["name"]
        assert container["args"] == COMMAND.get(name, [name.removeprefix("rmbc-")])
        assert container["args"][0] in COMMANDS


def test_registry_agree_listens_on_nothing_and_is_probed_by_the_age_of_its_heartbeat_file(
    manifests,
):
    (container,) = containers(named(manifests, "Deployment", "rmbc-registry-agree"))
    assert "ports" not in container and "readinessProbe" not in container
    heartbeat = env(container)["RMBC_REGISTRY_AGREE_HEARTBEAT_FILE"]
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert heartbeat.rsplit("/", 1)[0] in mounts  # writable under a read-only root
    for probe in ("startupProbe", "livenessProbe"):
        assert heartbeat in " ".join(container[probe]["exec"]["command"]), probe


@pytest.mark.parametrize("name", ["rmbc-worklist", "rmbc-registry-agree"])
def test_the_worklist_and_registry_agree_run_one_pod_never_two_even_during_a_rollout(
    manifests, name
):
    workload = named(manifests, "Deployment", name)
    assert workload["spec"]["replicas"] == 1
    assert workload["spec"]["strategy"] == {"type": "Recreate"}


def test_the_worklist_runs_the_escalation_loop_from_the_directory_the_notifier_reads(manifests):
    (container,) = containers(named(manifests, "Deployment", "rmbc-worklist"))
    variables = env(container)
    assert variables["RMBC_WORKLIST_ESCALATION"] == "true"
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert variables["RMBC_DIRECTORY_FILE"] == f"{mounts['directory']}/directory.json"
    for secret in ("RMBC_WORKLIST_OIDC_CLIENT_SECRET", "RMBC_WORKLIST_SESSION_SECRET",
                   "RMBC_SMTP_PASSWORD"):  # fmt: skip
        assert "secretKeyRef" in variables[secret], secret
    directory = named(manifests, "ConfigMap", "rmbc-directory")["data"]["directory.json"]
    teams = [p.cns_team for p in Directory.model_validate_json(directory).providers.values()]
    assert teams and all(team.mdt_lead is not None for team in teams)


def acls(manifests, user: str) -> dict[str, set[str]]:
    spec = named(manifests, "KafkaUser", user)["spec"]["authorization"]["acls"]
    return {
        acl["resource"].get("name", acl["resource"]["type"]): set(acl["operations"]) for acl in spec
    }


def test_the_worklist_and_registry_agree_may_read_and_write_exactly_their_topics(manifests):
    topics = TopicNames()
    assert acls(manifests, "rmbc-worklist") == {
        topics.cancer_flags: {"Read", "Describe"},
        topics.alerts: {"Read", "Write", "Describe"},  # escalations are recorded there
        topics.reviews: {"Read", "Write", "Describe"},
        "cluster": {"IdempotentWrite"},
    }
    assert acls(manifests, "rmbc-registry-agree") == {
        topics.reviews: {"Read", "Describe"},
        topics.registry_records_v2: {"Read", "Write", "Describe"},
        topics.dead_letter: {"Write", "Describe"},
        "cluster": {"IdempotentWrite"},
    }


def test_the_classifier_keeps_its_rocksdb_tables_on_a_persistent_volume(manifests):
    classifier = named(manifests, "StatefulSet", "rmbc-classifier")
    (container,) = containers(classifier)
    assert env(container)["RMBC_CLASSIFIER_STORE"] == "rocksdb://"
    (claim,) = classifier["spec"]["volumeClaimTemplates"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert mounts[claim["metadata"]["name"]] == env(container)["RMBC_CLASSIFIER_DATA_DIR"]


def test_consumers_are_never_scaled_beyond_the_partitions_they_read(manifests):
    topics = TopicNames()
    classifier = named(manifests, "StatefulSet", "rmbc-classifier")
    notifier = named(manifests, "Deployment", "rmbc-notifier")
    assert classifier["spec"]["replicas"] <= partitions(manifests, topics.clinical_events)
    assert notifier["spec"]["replicas"] <= partitions(manifests, topics.cancer_flags)


def test_each_service_authenticates_as_its_own_kafka_user(manifests):
    users = {u["metadata"]["name"] for u in of_kind(manifests, "KafkaUser")}
    for workload in of_kind(manifests, *WORKLOADS):
        (container,) = containers(workload)
        variables = env(container)
        user = variables["KAFKA_SASL_USERNAME"]
        assert user == workload["metadata"]["name"] and user in users
        assert variables["KAFKA_SASL_PASSWORD"] == {
            "secretKeyRef": {"name": user, "key": "password"}
        }


def test_every_secret_and_config_map_a_pod_uses_is_defined_or_made_by_strimzi(manifests):
    secrets = {s["metadata"]["name"] for s in of_kind(manifests, "Secret")}
    secrets |= {u["metadata"]["name"] for u in of_kind(manifests, "KafkaUser")}
    secrets.add(STRIMZI_CA_SECRET)
    config_maps = {c["metadata"]["name"] for c in of_kind(manifests, "ConfigMap")}
    for workload in of_kind(manifests, *WORKLOADS):
        pod = workload["spec"]["template"]["spec"]
        for volume in pod.get("volumes", []):
            if "secret" in volume:
                assert volume["secret"]["secretName"] in secrets
            if "configMap" in volume:
                assert volume["configMap"]["name"] in config_maps
        for container in pod["containers"]:
            for source in container.get("envFrom", []):
                assert source["configMapRef"]["name"] in config_maps
            for value in env(container).values():
                if isinstance(value, dict):
                    assert value["secretKeyRef"]["name"] in secrets


def test_secrets_in_the_repository_hold_placeholders_only(manifests):
    secrets = of_kind(manifests, "Secret")
    assert {s["metadata"]["name"] for s in secrets} == {
        "rmbc-ingest-tokens",
        "rmbc-mesh",
        "rmbc-smtp",
        "rmbc-worklist-sign-in",
    }
    for secret in secrets:
        assert "data" not in secret
        assert set(secret["stringData"].values()) == {"CHANGE-ME"}


def test_the_notifier_reads_a_valid_directory_from_its_config_map(manifests):
    directory = named(manifests, "ConfigMap", "rmbc-directory")["data"]["directory.json"]
    assert Directory.model_validate_json(directory).gp_practices
    (container,) = containers(named(manifests, "Deployment", "rmbc-notifier"))
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert env(container)["RMBC_DIRECTORY_FILE"] == f"{mounts['directory']}/directory.json"


def test_every_namespaced_resource_lives_in_the_rmbc_namespace(manifests):
    for file, document in manifests:
        if document["kind"] != "Namespace":
            assert document["metadata"]["namespace"] == "rmbc", file


BIND_VARIABLE = {
    "rmbc-ingest": "RMBC_INGEST_HOST",
    "rmbc-classifier": "RMBC_CLASSIFIER_WEB_HOST",
    "rmbc-notifier": "RMBC_NOTIFIER_HTTP_HOST",
    "rmbc-worklist": "RMBC_WORKLIST_HTTP_HOST",
}
MONITORING = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
INGRESS_CONTROLLER = {
    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}
}


def pod_labels(workload: dict[str, Any]) -> dict[str, str]:
    labels: dict[str, str] = workload["spec"]["template"]["metadata"]["labels"]
    return labels


def selects(policy: dict[str, Any], labels: dict[str, str]) -> bool:
    selector = policy["spec"]["podSelector"]
    assert set(selector) <= {"matchLabels"}, "only label matches, read the same way here"
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


def policies_for(manifests, workload: dict[str, Any], direction: str) -> list[dict[str, Any]]:
    return [
        p
        for p in of_kind(manifests, "NetworkPolicy")
        if direction in p["spec"]["policyTypes"] and selects(p, pod_labels(workload))
    ]


def container_ports(workload: dict[str, Any]) -> dict[str, int]:
    return {p["name"]: p["containerPort"] for c in containers(workload) for p in c.get("ports", [])}


def rules(policies: list[dict[str, Any]], direction: str) -> list[dict[str, Any]]:
    return [rule for p in policies for rule in p["spec"].get(direction, [])]


def test_every_pod_in_the_namespace_refuses_ingress_unless_a_policy_allows_it(manifests):
    (deny,) = [
        p
        for p in of_kind(manifests, "NetworkPolicy")
        if p["spec"]["podSelector"] == {} and p["spec"]["policyTypes"] == ["Ingress"]
    ]
    assert "ingress" not in deny["spec"]
    assert deny["metadata"]["namespace"] == "rmbc"


def test_every_service_refuses_egress_unless_a_policy_allows_it(manifests):
    for workload in of_kind(manifests, *WORKLOADS):
        egress = policies_for(manifests, workload, "Egress")
        assert any("egress" not in p["spec"] for p in egress), workload["metadata"]["name"]


def test_only_ingest_takes_connections_from_senders_and_only_on_its_http_and_mllp_ports(manifests):
    for workload in http_workloads(manifests):
        name = workload["metadata"]["name"]
        ports = container_ports(workload)
        for rule in rules(policies_for(manifests, workload, "Ingress"), "ingress"):
            allowed = {p["port"] for p in rule["ports"]}
            assert allowed <= set(ports), (name, allowed)  # named ports the pod has
            if rule.get("from") == [MONITORING]:
                assert allowed == {"http"}, name
            elif rule.get("from") == [INGRESS_CONTROLLER]:
                assert (name, allowed) == ("rmbc-worklist", {"http"})  # people, through HTTPS
            else:
                assert (name, allowed) == ("rmbc-ingest", {"http", "mllp"})
    for name in NO_HTTP:
        assert container_ports(named(manifests, "Deployment", name)) == {}


def test_every_service_can_be_scraped_from_the_monitoring_namespace_on_its_metrics_port(manifests):
    for workload in http_workloads(manifests):
        ingress = rules(policies_for(manifests, workload, "Ingress"), "ingress")
        scraped = [r for r in ingress if r.get("from") == [MONITORING]]
        assert [p["port"] for r in scraped for p in r["ports"]] == ["http"]
        annotations = workload["spec"]["template"]["metadata"]["annotations"]
        assert int(annotations["prometheus.io/port"]) == container_ports(workload)["http"]


def test_every_service_reaches_the_kafka_listener_and_dns_and_only_notifier_and_worklist_more(
    manifests,
):
    kafka_port = int(
        named(manifests, "ConfigMap", "rmbc-kafka-client")["data"][
            "KAFKA_BOOTSTRAP_SERVERS"
        ].rsplit(":", 1)[1]
    )
    (listener,) = named(manifests, "Kafka", "rmbc-kafka")["spec"]["kafka"]["listeners"]
    assert listener["port"] == kafka_port
    for workload in of_kind(manifests, *WORKLOADS):
        name = workload["metadata"]["name"]
        egress = rules(policies_for(manifests, workload, "Egress"), "egress")
        kafka = [r for r in egress if r.get("to", [{}])[0].get("podSelector", {}).get(
            "matchLabels", {}).get("strimzi.io/cluster") == "rmbc-kafka"]  # fmt: skip
        assert [(p["port"], p["protocol"]) for r in kafka for p in r["ports"]] == [
            (kafka_port, "TCP")
        ]
        dns = [r for r in egress if r.get("to", [{}])[0].get("namespaceSelector")]
        assert {(p["port"], p["protocol"]) for r in dns for p in r["ports"]} == {
            (53, "UDP"),
            (53, "TCP"),
        }
        anywhere = [r for r in egress if "to" not in r]
        variables = env(containers(workload)[0])
        if name == "rmbc-notifier":
            smtp = int(variables["RMBC_SMTP_PORT"])
            assert variables["RMBC_MESH_URL"].startswith("https://")  # port 443
            assert {p["port"] for r in anywhere for p in r["ports"]} == {443, smtp}
        elif name == "rmbc-worklist":
            smtp = int(variables["RMBC_SMTP_PORT"])
            assert variables["RMBC_WORKLIST_OIDC_ISSUER"].startswith("https://")  # port 443
            assert {p["port"] for r in anywhere for p in r["ports"]} == {443, smtp}
        else:
            assert anywhere == [], name


def test_every_service_binds_all_pod_addresses_explicitly_since_the_default_is_loopback(manifests):
    for workload in http_workloads(manifests):
        name = workload["metadata"]["name"]
        assert env(containers(workload)[0])[BIND_VARIABLE[name]] == "0.0.0.0", name


def test_the_notifier_keeps_its_failure_count_on_a_volume_that_outlives_a_container(manifests):
    notifier = named(manifests, "Deployment", "rmbc-notifier")
    (container,) = containers(notifier)
    state_dir = env(container)["RMBC_NOTIFIER_STATE_DIR"]
    (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == state_dir]
    volumes = {v["name"]: v for v in notifier["spec"]["template"]["spec"]["volumes"]}
    assert "emptyDir" in volumes[mount["name"]]
