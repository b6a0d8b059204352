"""A local single-node KRaft Apache Kafka broker, run from Maven Central jars with the machine's JDK.

This is what makes a real broker available where no Docker engine runs: `rmbc broker start`,
`make demo` and the test suite all use it.
"""

import asyncio
import base64
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from shared.state_dir import PROJECT_ROOT, service_state_dir

KAFKA_RECIPE = Path(os.environ.get("RMBC_KAFKA_RECIPE", PROJECT_ROOT / "deploy" / "kafka"))
DEFAULT_STATE_DIR = service_state_dir("broker")


class BrokerError(RuntimeError):
    """A problem a person can act on; the message says what to do."""


@dataclass(frozen=True)
class BrokerInfo:
    pid: int
    bootstrap: str
    controller_port: int
    log_file: str
    data_dir: str
    started_at: float


def require_tools() -> None:
    missing = [tool for tool in ("java", "mvn") if shutil.which(tool) is None]
    if missing:
        raise BrokerError(
            f"{' and '.join(missing)} not found on PATH. The local Kafka broker needs a JDK 17 "
            "and Maven: on Debian/Ubuntu `apt-get install openjdk-17-jre-headless maven`, "
            "or set KAFKA_BOOTSTRAP_SERVERS to use an existing cluster."
        )


def kafka_libs(recipe: Path = KAFKA_RECIPE) -> Path:
    """The broker's jars, resolved by Maven once and reused while the pom is unchanged."""
    pom = recipe / "pom.xml"
    libs = recipe / "target" / "kafka-libs"
    stamp = libs / ".pom-sha256"
    digest = hashlib.sha256(pom.read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == digest and any(libs.glob("kafka_2.13-*.jar")):
        return libs
    require_tools()
    if libs.exists():
        shutil.rmtree(libs)
    result = subprocess.run(
        ["mvn", "-q", "-B", "-f", str(pom), "package"],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise BrokerError(
            "Maven could not resolve the Kafka jars from Maven Central:\n"
            + (result.stdout + result.stderr)[-2000:]
        )
    stamp.write_text(digest)
    return libs


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def new_cluster_id() -> str:
    # may start with "-": pass it as --cluster-id=<id>, never as a separate argument
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()


@dataclass(frozen=True)
class ExtraListener:
    """An extra listener, e.g. SASL_PLAINTEXT for the security tests."""

    name: str
    port: int
    protocol: str
    properties: str = ""


class LocalBroker:
    def __init__(self, state_dir: Path = DEFAULT_STATE_DIR, heap: str = "512m") -> None:
        self.state_dir = state_dir
        self.heap = heap
        self.info_file = state_dir / "broker.json"

    def status(self) -> BrokerInfo | None:
        """The running broker started from this state directory, or None."""
        if not self.info_file.exists():
            return None
        info = BrokerInfo(**json.loads(self.info_file.read_text()))
        return info if _is_our_broker(info.pid) else None

    def start(self, timeout: float = 90.0, extra: ExtraListener | None = None) -> BrokerInfo:
        running = self.status()
        if running:
            return running
        require_tools()
        libs = kafka_libs()
        broker_port, controller_port = free_port(), free_port()
        data_dir = self.state_dir / "data"
        if data_dir.exists():
            shutil.rmtree(data_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        config = self.state_dir / "server.properties"
        config.write_text(_render_config(broker_port, controller_port, data_dir, extra))
        format_storage(libs, config, new_cluster_id())
        return self.launch(libs, f"127.0.0.1:{broker_port}", controller_port, data_dir, timeout)

    def restart(
        self,
        timeout: float = 90.0,
        grace: float = 15.0,
        while_down: Callable[[], object] | None = None,
    ) -> BrokerInfo:
        """Stop the running broker and start it again on the same ports with the same data and
        configuration: what clients see when a node of a cluster restarts. `while_down` runs
        in between (the outage tests look at the services then); the broker starts however it
        ends."""
        if not self.info_file.exists():
            raise BrokerError(f"no broker was started from {self.state_dir}")
        before = BrokerInfo(**json.loads(self.info_file.read_text()))
        self.stop(grace)
        try:
            if while_down is not None:
                while_down()
        finally:
            info = self.launch(
                kafka_libs(),
                before.bootstrap,
                before.controller_port,
                Path(before.data_dir),
                timeout,
            )
        return info

    def exited(self) -> bool:
        """True when the broker last launched from this folder is no longer running (unlike
        `status`, not fooled by a process that has not yet exec'd java)."""
        if not self.info_file.exists():
            return True
        return not _alive(BrokerInfo(**json.loads(self.info_file.read_text())).pid)

    def kill(self) -> None:
        """SIGKILL the running broker: a crash, for the fault tests. `restart` brings it back on
        the same ports and data."""
        info = self.status()
        if info is not None:
            os.killpg(info.pid, signal.SIGKILL)
            while _alive(info.pid):
                time.sleep(0.05)

    def launch(
        self,
        libs: Path,
        bootstrap: str,
        controller_port: int,
        data_dir: Path,
        timeout: float,
        wait: bool = True,
    ) -> BrokerInfo:
        """Run the broker on formatted storage with the state directory's configuration; wait
        until it answers unless told not to (a cluster's first node answers only once a quorum
        of its controllers runs)."""
        java, classpath = _java(libs)
        config = self.state_dir / "server.properties"
        log_file = self.state_dir / "broker.log"
        with log_file.open("ab") as log:
            process = subprocess.Popen(
                [*java, "-Xms128m", f"-Xmx{self.heap}", "-XX:+UseG1GC",
                 "-Djava.awt.headless=true", f"-Dkafka.logs.dir={self.state_dir}",
                 *classpath, "kafka.Kafka", str(config)],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,
            )  # fmt: skip
        info = BrokerInfo(
            pid=process.pid,
            bootstrap=bootstrap,
            controller_port=controller_port,
            log_file=str(log_file),
            data_dir=str(data_dir),
            started_at=time.time(),
        )
        self.info_file.write_text(json.dumps(asdict(info)))
        if not wait:
            return info
        try:
            _wait_until_ready(process, info, timeout)
        except BaseException:
            self.stop()
            raise
        return info

    def stop(self, grace: float = 15.0) -> bool:
        """SIGTERM, then SIGKILL after `grace` seconds. True if a broker was running."""
        if not self.info_file.exists():
            return False
        info = BrokerInfo(**json.loads(self.info_file.read_text()))
        was_running = _is_our_broker(info.pid)
        if was_running:
            _terminate(info.pid, grace)
        self.info_file.unlink(missing_ok=True)
        return was_running


def format_storage(libs: Path, config: Path, cluster_id: str) -> None:
    """Format a node's log directory for the cluster `cluster_id` (a separate JVM: the tool exits)."""
    java, classpath = _java(libs)
    formatted = subprocess.run(
        [*java, *classpath, "kafka.tools.StorageTool", "format",
         f"--cluster-id={cluster_id}", f"--config={config}"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    if formatted.returncode != 0:
        raise BrokerError(f"formatting Kafka storage failed:\n{formatted.stderr[-2000:]}")


def _java(libs: Path) -> tuple[list[str], list[str]]:
    java = ["java", f"-Dlog4j2.configurationFile={KAFKA_RECIPE / 'log4j2.properties'}"]
    return java, ["-cp", f"{libs}/*"]


def _render_config(
    broker_port: int, controller_port: int, data_dir: Path, extra: ExtraListener | None
) -> str:
    template = (KAFKA_RECIPE / "server.properties").read_text()
    return template.format(
        broker_port=broker_port,
        controller_port=controller_port,
        data_dir=data_dir,
        extra_listeners=f",{extra.name}://127.0.0.1:{extra.port}" if extra else "",
        extra_advertised=f",{extra.name}://127.0.0.1:{extra.port}" if extra else "",
        extra_protocols=f",{extra.name}:{extra.protocol}" if extra else "",
        extra_properties=extra.properties if extra else "",
    )


def _wait_until_ready(process: subprocess.Popen[bytes], info: BrokerInfo, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BrokerError(
                f"the Kafka broker exited with code {process.returncode}; "
                f"last lines of {info.log_file}:\n{_tail(Path(info.log_file))}"
            )
        if _port_open(info.bootstrap) and asyncio.run(metadata_ok(info.bootstrap)):
            return
        time.sleep(0.3)
    raise BrokerError(f"the Kafka broker did not answer within {timeout:.0f}s; see {info.log_file}")


async def metadata_ok(bootstrap: str, timeout: float = 3.0) -> bool:
    """True when the broker answers a metadata request."""
    from aiokafka.admin import AIOKafkaAdminClient
    from aiokafka.errors import KafkaError

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=int(timeout * 1000))
    try:
        await asyncio.wait_for(admin.start(), timeout)
        await asyncio.wait_for(admin.describe_cluster(), timeout)
        return True
    except (KafkaError, OSError, TimeoutError):
        return False
    finally:
        await admin.close()


def _port_open(bootstrap: str) -> bool:
    host, port = bootstrap.rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=0.5):
            return True
    except OSError:
        return False


def _is_our_broker(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"kafka.Kafka" in cmdline


def _terminate(pid: int, grace: float) -> None:
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not _alive(pid):
            return
        time.sleep(0.1)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    while _alive(pid):
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        waited_pid, _ = os.waitpid(pid, os.WNOHANG)
        if waited_pid == pid:
            return False
    except ChildProcessError:
        pass  # not our child: fall back to probing the pid
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = (
        Path(f"/proc/{pid}/stat").read_text().split()[2] if Path(f"/proc/{pid}").exists() else ""
    )
    return state != "Z"


def _tail(path: Path, lines: int = 20) -> str:
    if not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="rmbc broker",
        description=__doc__,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("action", choices=["start", "stop", "status"])
    parser.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR)
    args = parser.parse_args(argv)
    broker = LocalBroker(args.state_dir)
    try:
        if args.action == "start":
            info = broker.start()
            created, layout = provision_local_topics(info.bootstrap)
            print(f"Kafka broker running at {info.bootstrap} (log {info.log_file})")
            print(f"topics ({layout}): {', '.join(created)}")
            print("For the services in this shell:")
            print(f"  export KAFKA_BOOTSTRAP_SERVERS={info.bootstrap}")
            return 0
        if args.action == "stop":
            print("stopped" if broker.stop() else "not running")
            return 0
        running = broker.status()
        if running is None:
            print(f"not running (state in {args.state_dir})")
            return 1
        print(f"running: bootstrap {running.bootstrap}, pid {running.pid}, log {running.log_file}")
        print(f"  export KAFKA_BOOTSTRAP_SERVERS={running.bootstrap}")
        return 0
    except BrokerError as error:
        print(f"rmbc broker: {error}")
        return 2


def provision_local_topics(bootstrap: str) -> tuple[list[str], str]:
    """Every contract topic on the local broker (names from RMBC_TOPIC_*), as `rmbc topics
    create` makes them; their names and layout."""
    from services.topics import describe, provision
    from shared.settings import KafkaSettings
    from shared.topics import LOCAL

    outcome = asyncio.run(provision(KafkaSettings(bootstrap_servers=bootstrap), LOCAL))
    return list(outcome), describe(LOCAL)
