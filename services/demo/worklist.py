"""The worklist as `rmbc up`, `rmbc demo` and the tests start it: the real local OIDC provider
with demo users, and the `rmbc worklist` process following the given topics; and beside it
`rmbc registry agree`, which turns the MDT's decisions into agreed registry records."""

import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from services.broker import free_port
from services.demo.sign_in import DemoUser, SignInProvider, sign_in_provider
from services.demo.stack import ManagedProcess, kafka_env, rmbc_process
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
    escalation: Mapping[str, str] | None = None,
) -> Iterator[RunningWorklist]:
    """`env` adds or overrides the worklist's settings (RMBC_WORKLIST_*). `escalation`, the SMTP
    relay and directory (RMBC_SMTP_*, RMBC_DIRECTORY_FILE), turns its escalation loop on."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with sign_in_provider(directory, users, f"{url}/auth/callback") as provider:
        settings = {
            **kafka_env(kafka, topics),
            "RMBC_WORKLIST_HTTP_PORT": str(port),
            "RMBC_WORKLIST_PUBLIC_URL": url,
            "RMBC_WORKLIST_OIDC_ISSUER": provider.issuer,
            "RMBC_WORKLIST_OIDC_CLIENT_ID": provider.client_id,
            "RMBC_WORKLIST_OIDC_CLIENT_SECRET": provider.client_secret,
            "RMBC_WORKLIST_SESSION_SECRET": secrets.token_urlsafe(32),
            "RMBC_WORKLIST_COOKIE_SECURE": "false",  # plain http on loopback only
            "RMBC_WORKLIST_ESCALATION": str(escalation is not None).lower(),
            **(escalation or {}),
            **(env or {}),
        }
        process = rmbc_process("worklist", settings, directory, f"{url}/healthz")
        process.start(timeout=timeout)
        try:
            yield RunningWorklist(url, provider, process, topics)
        finally:
            process.stop()


AGREEMENT_READY = "registry agreement caught up"  # services/registry/agreement_loop.py logs it


@contextmanager
def running_registry_agreement(
    directory: Path, kafka: KafkaSettings, topics: TopicNames, timeout: float = 60.0
) -> Iterator[ManagedProcess]:
    """`rmbc registry agree` on the given topics, ready once it has read both to their ends."""
    process = rmbc_process(
        "registry", kafka_env(kafka, topics), directory, None, ("agree",), AGREEMENT_READY,
        name="registry-agree",
    )  # fmt: skip
    process.start(timeout=timeout)
    try:
        yield process
    finally:
        process.stop()
