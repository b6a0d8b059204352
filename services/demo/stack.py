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
from shared.state_dir import PROJECT_ROOT

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
        if self.ready_url:
            try:
                self.wait_ready(timeout)
            except BaseException:
                self.stop()  # a process that never became ready is not left running
                raise
        return self

    def wait_ready(self, timeout: float) -> None:
        assert self.ready_url and self.process
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise StackError(
                    f"{self.name} exited with code {self.process.returncode}; see {self.log_file}"
                )
            if http_ok(self.ready_url):
                return
            time.sleep(0.2)
        raise StackError(f"{self.name} not ready within {timeout:.0f}s; see {self.log_file}")

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
    command: str, env: Mapping[str, str], log_dir: Path, ready_url: str, args: tuple[str, ...] = ()
) -> ManagedProcess:
    return ManagedProcess(
        name=command,
        argv=[sys.executable, "-m", "services.cli", command, *args],
        env={"PYTHONUNBUFFERED": "1", **env},
        log_file=log_dir / f"{command}.log",
        ready_url=ready_url,
    )


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
