"""Start and stop the real pieces of the pipeline as processes: used by `rmbc demo` and the e2e tests.

Each piece is waited for with a deadline and stopped with SIGTERM, then SIGKILL after a bound.
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from services.broker import free_port
from shared.settings import KafkaSettings
from shared.state_dir import PROJECT_ROOT
from shared.topics import TopicNames

MESH_VENV = Path(os.environ.get("RMBC_MESH_VENV", PROJECT_ROOT / ".venv-mesh"))
MESH_SHARED_KEY = "TestKey"
MESH_PASSWORD = "password"


class StackError(RuntimeError):
    """A piece of the stack did not come up; the message says which and where its log is."""


@dataclass
class ManagedProcess:
    name: str
    argv: list[str]
    env: dict[str, str]
    log_file: Path
    ready_url: str | None = None
    ready_line: str | None = None  # for a process without HTTP: ready once its log says this
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self, timeout: float = 60.0) -> "ManagedProcess":
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(
                self.argv,
                env={**os.environ, **self.env},
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        if self.ready_url or self.ready_line:
            try:
                self.wait_ready(timeout)
            except BaseException:
                self.stop()  # a process that never became ready is not left running
                raise
        return self

    def wait_ready(self, timeout: float) -> None:
        assert self.process
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise StackError(
                    f"{self.name} exited with code {self.process.returncode}; see {self.log_file}"
                )
            if self._ready():
                return
            time.sleep(0.2)
        raise StackError(f"{self.name} not ready within {timeout:.0f}s; see {self.log_file}")

    def _ready(self) -> bool:
        if self.ready_url:
            return http_ok(self.ready_url)
        assert self.ready_line
        return self.ready_line in self.log_file.read_text(errors="replace")

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: a crash, for the fault tests."""
        if self.running:
            assert self.process
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self, grace: float = 10.0) -> None:
        if not self.running:
            return
        assert self.process
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def http_ok(url: str, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return bool(200 <= response.status < 300)
    except (urllib.error.URLError, OSError):
        return False


def rmbc_process(
    command: str,
    env: Mapping[str, str],
    log_dir: Path,
    ready_url: str | None,
    args: tuple[str, ...] = (),
    ready_line: str | None = None,
    name: str | None = None,
) -> ManagedProcess:
    """`rmbc COMMAND ARGS` with its log in `log_dir/NAME.log` (NAME: the command, unless given)."""
    name = name or command
    return ManagedProcess(
        name=name,
        argv=[sys.executable, "-m", "services.cli", command, *args],
        env={"PYTHONUNBUFFERED": "1", **env},
        log_file=log_dir / f"{name}.log",
        ready_url=ready_url,
        ready_line=ready_line,
    )


def kafka_env(kafka: KafkaSettings, topics: TopicNames) -> dict[str, str]:
    """The broker and the topics, as every rmbc process reads them (KAFKA_*, RMBC_TOPIC_*)."""
    return {
        "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "KAFKA_SECURITY_PROTOCOL": kafka.security_protocol,
        **{f"RMBC_TOPIC_{role.upper()}": name for role, name in topics.model_dump().items()},
    }


def mesh_sandbox(log_dir: Path, port: int | None = None) -> ManagedProcess:
    """The real mesh-sandbox from its own venv, in-memory store, full HMAC auth; HTTP parsed by
    httptools (C) rather than h11, for less of the sandbox's CPU per message (docs/performance.md)."""
    uvicorn = MESH_VENV / "bin" / "uvicorn"
    if not uvicorn.exists():
        raise StackError(f"mesh-sandbox is not installed in {MESH_VENV}: run `make setup`")
    port = port or free_port()
    return ManagedProcess(
        name="mesh-sandbox",
        argv=[
            *(str(uvicorn), "mesh_sandbox.api:app", "--http", "httptools"),
            *("--host", "127.0.0.1", "--port", str(port)),
        ],
        env={"STORE_MODE": "memory", "AUTH_MODE": "full", "SHARED_KEY": MESH_SHARED_KEY},
        log_file=log_dir / "mesh-sandbox.log",
        ready_url=f"http://127.0.0.1:{port}/health",
    )


@contextlib.contextmanager
def stopping(processes: list[ManagedProcess]) -> Iterator[list[ManagedProcess]]:
    """Stop every process in the list (newest first) however the block ends."""
    try:
        yield processes
    finally:
        for process in reversed(processes):
            process.stop()
