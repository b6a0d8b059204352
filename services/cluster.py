"""A local three-node KRaft Kafka cluster from the same Maven Central jars as `rmbc broker`, for
the fault run (`make chaos`): replication factor 3, `min.insync.replicas=2`, as deployed.

Each node is one LocalBroker (its own folder, ports, log and pid), so one node can be killed,
stopped or restarted while the others run. Static quorum: every node is a controller voter, the
storage of each formatted with one cluster id (the usual KRaft recipe: kafka.tools.StorageTool,
then kafka.Kafka; see apache/kafka config/kraft/server.properties for the settings' meaning)."""

import asyncio
import time
from pathlib import Path

from services.broker import (
    KAFKA_RECIPE,
    BrokerError,
    LocalBroker,
    format_storage,
    free_port,
    kafka_libs,
    new_cluster_id,
    require_tools,
)


class LocalCluster:
    def __init__(self, state_dir: Path, size: int = 3, heap: str = "320m") -> None:
        self.state_dir = state_dir
        self.nodes = [LocalBroker(state_dir / f"node-{n}", heap=heap) for n in range(1, size + 1)]

    @property
    def bootstrap(self) -> str:
        return ",".join(self._addresses)

    def start(self, timeout: float = 120.0) -> str:
        """Format and start every node, then wait until each answers and sees them all."""
        require_tools()
        libs = kafka_libs()
        ports = [(free_port(), free_port()) for _ in self.nodes]
        voters = ",".join(f"{n}@127.0.0.1:{c}" for n, (_, c) in enumerate(ports, start=1))
        cluster_id = new_cluster_id()
        template = (KAFKA_RECIPE / "cluster.properties").read_text()
        self._addresses = [f"127.0.0.1:{b}" for b, _ in ports]
        for number, (node, (broker_port, controller_port)) in enumerate(
            zip(self.nodes, ports, strict=True), start=1
        ):
            node.state_dir.mkdir(parents=True, exist_ok=True)
            config = node.state_dir / "server.properties"
            config.write_text(
                template.format(
                    node_id=number,
                    voters=voters,
                    broker_port=broker_port,
                    controller_port=controller_port,
                    data_dir=node.state_dir / "data",
                )
            )
            format_storage(libs, config, cluster_id)
        try:
            for node, address, (_, controller_port) in zip(
                self.nodes, self._addresses, ports, strict=True
            ):
                node.launch(libs, address, controller_port, node.state_dir / "data", timeout, False)
            self.wait_for_all(timeout)
        except BaseException:
            self.stop()
            raise
        return self.bootstrap

    def wait_for_all(self, timeout: float = 120.0) -> None:
        """Until every node runs and the cluster reports all of them as brokers."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            down = [n.state_dir.name for n in self.nodes if n.exited()]
            if down:
                raise BrokerError(f"cluster node(s) {down} exited; see their broker.log")
            if asyncio.run(brokers_seen(self.bootstrap)) == len(self.nodes):
                return
            time.sleep(0.5)
        raise BrokerError(f"the cluster in {self.state_dir} did not form within {timeout:.0f}s")

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


async def brokers_seen(bootstrap: str, timeout: float = 3.0) -> int:
    """How many brokers the cluster's metadata lists (0 when it does not answer)."""
    from aiokafka.admin import AIOKafkaAdminClient
    from aiokafka.errors import KafkaError

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=int(timeout * 1000))
    try:
        await asyncio.wait_for(admin.start(), timeout)
        cluster = await asyncio.wait_for(admin.describe_cluster(), timeout)
        return len(cluster["brokers"])
    except (KafkaError, OSError, TimeoutError):
        return 0
    finally:
        await admin.close()
