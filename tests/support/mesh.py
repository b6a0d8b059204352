"""A real mesh-sandbox for the session (from the `.venv-mesh` tools venv), reset for every test.

Fixtures: `mesh_sandbox` (session: url, shared key, mailboxes, password, `env()` for a notifier
subprocess) and `mesh` (per test: the same, with every mailbox emptied first).
"""

import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MESH_VENV = ROOT / ".venv-mesh"


@dataclass(frozen=True)
class MeshSandbox:
    url: str
    shared_key: str = "TestKey"
    password: str = "password"
    sender: str = "X26ABC1"  # our mailbox (the notifier sends from here)
    gp_mailbox: str = "X26ABC2"  # a GP practice's inbox
    other_gp_mailbox: str = "X26ABC3"
    workflow_id: str = "TEST_WORKFLOW"

    def env(self) -> dict[str, str]:
        """Environment for `rmbc notifier` to send from `sender` through this sandbox."""
        return {
            "RMBC_MESH_URL": self.url,
            "RMBC_MESH_MAILBOX": self.sender,
            "RMBC_MESH_PASSWORD": self.password,
            "RMBC_MESH_SHARED_KEY": self.shared_key,
            "RMBC_MESH_WORKFLOW_ID": self.workflow_id,
        }

    def client(self, mailbox: str):  # type: ignore[no-untyped-def]
        from mesh_client import MeshClient

        return MeshClient(
            self.url, mailbox, self.password, shared_key=self.shared_key.encode(), max_retries=0
        )

    def reset(self) -> None:
        request = urllib.request.Request(f"{self.url}/messageexchange/admin/reset", method="DELETE")
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 200


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def mesh_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MeshSandbox]:
    uvicorn = MESH_VENV / "bin" / "uvicorn"
    if not uvicorn.exists():
        raise RuntimeError(f"{uvicorn} is missing: run `make .venv-mesh/.installed`")
    port = free_port()
    sandbox = MeshSandbox(url=f"http://127.0.0.1:{port}")
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("MESH_", "SHARED_KEY", "AUTH_"))
    }
    env |= {"STORE_MODE": "memory", "AUTH_MODE": "full", "SHARED_KEY": sandbox.shared_key}
    log = (tmp_path_factory.mktemp("mesh") / "sandbox.log").open("wb")
    process = subprocess.Popen(
        [str(uvicorn), "mesh_sandbox.api:app", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_healthy(sandbox.url, process, timeout=30)
        yield sandbox
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture
def mesh(mesh_sandbox: MeshSandbox) -> MeshSandbox:
    mesh_sandbox.reset()
    return mesh_sandbox


def _wait_healthy(url: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"mesh-sandbox exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"mesh-sandbox not healthy at {url} within {timeout}s")
