"""The worklist as `rmbc up`, `rmbc demo` and the tests start it: the real local OIDC provider
with demo users, and the `rmbc worklist` process following the given topics."""

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from services.broker import free_port
from services.demo.sign_in import DemoUser, SignInProvider, sign_in_provider
from services.demo.stack import ManagedProcess, rmbc_process
from shared.settings import KafkaSettings
from shared.topics import TopicNames


@dataclass
class RunningWorklist:
    url: str
    provider: SignInProvider
    process: ManagedProcess
    topics: TopicNames

    def user(self, username: str) -> DemoUser:
        return next(u for u in self.provider.users if u.username == username)

    def describe(self) -> list[str]:
        """Lines telling a person where the worklist is and how to sign in."""
        lines = [f"  worklist (web)      {self.url}   sign in at the local OIDC provider "
                 f"{self.provider.issuer}"]  # fmt: skip
        lines += [
            f"    {u.role:<16} username {u.username!r:<9} password {u.password!r}"
            f"  ({', '.join(u.trusts)})"
            for u in self.provider.users
        ]
        return lines


@contextmanager
def running_worklist(
    directory: Path,
    kafka: KafkaSettings,
    topics: TopicNames,
    users: tuple[DemoUser, ...],
    timeout: float = 60.0,
    env: dict[str, str] | None = None,
) -> Iterator[RunningWorklist]:
    """`env` adds or overrides the worklist's settings (RMBC_WORKLIST_*)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with sign_in_provider(directory, users, f"{url}/auth/callback") as provider:
        settings = {
            "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
            "KAFKA_SECURITY_PROTOCOL": kafka.security_protocol,
            **{f"RMBC_TOPIC_{role.upper()}": name for role, name in topics.model_dump().items()},
            "RMBC_WORKLIST_HTTP_PORT": str(port),
            "RMBC_WORKLIST_PUBLIC_URL": url,
            "RMBC_WORKLIST_OIDC_ISSUER": provider.issuer,
            "RMBC_WORKLIST_OIDC_CLIENT_ID": provider.client_id,
            "RMBC_WORKLIST_OIDC_CLIENT_SECRET": provider.client_secret,
            "RMBC_WORKLIST_SESSION_SECRET": secrets.token_urlsafe(32),
            "RMBC_WORKLIST_COOKIE_SECURE": "false",  # plain http on loopback only
            **(env or {}),
        }
        process = rmbc_process("worklist", settings, directory, f"{url}/healthz")
        process.start(timeout=timeout)
        try:
            yield RunningWorklist(url, provider, process, topics)
        finally:
            process.stop()
