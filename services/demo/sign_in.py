"""A real OpenID Connect provider for the worklist's demo and tests: npm `oidc-provider`
(tests/support/oidc/login_server.js, installed by `make setup`) run with the machine's Node, with
a few users whose role and trust claims the worklist reads, and the worklist as its one client.
"""

import json
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from services.broker import free_port
from services.demo.stack import ManagedProcess, StackError
from shared.state_dir import PROJECT_ROOT

SERVER = PROJECT_ROOT / "tests" / "support" / "oidc" / "login_server.js"
CLIENT_ID = "rmbc-worklist"


@dataclass(frozen=True)
class DemoUser:
    username: str
    password: str
    name: str
    role: str
    trusts: tuple[str, ...]


@dataclass(frozen=True)
class SignInProvider:
    issuer: str
    client_id: str
    client_secret: str
    users: tuple[DemoUser, ...]


def demo_users(trusts: tuple[str, ...]) -> tuple[DemoUser, ...]:
    """A CNS, an MDT coordinator and a read-only user of `trusts`, each with a fresh password."""
    return tuple(
        DemoUser(username, secrets.token_urlsafe(9), name, role, trusts)
        for username, name, role in (
            ("cns", "Ann Nurse", "cns"),
            ("mdt", "Max Coordinator", "mdt_coordinator"),
            ("viewer", "Rae Reader", "read_only"),
        )
    )


@contextmanager
def sign_in_provider(
    directory: Path, users: tuple[DemoUser, ...], redirect_uri: str
) -> Iterator[SignInProvider]:
    port = free_port()
    signing = signing_key(f"rmbc-{port}")
    client_secret = secrets.token_urlsafe(32)
    config = directory / f"sign-in-{port}.json"
    directory.mkdir(parents=True, exist_ok=True)
    client = {"client_id": CLIENT_ID, "client_secret": client_secret,
              "redirect_uris": [redirect_uri]}  # fmt: skip
    accounts = [
        {
            "username": u.username,
            "password": u.password,
            "claims": {"name": u.name, "rmbc_role": u.role, "rmbc_trust": list(u.trusts)},
        }
        for u in users
    ]
    config.write_text(
        json.dumps(
            {
                "jwks": {"keys": [signing]},
                "cookie_key": secrets.token_urlsafe(32),
                "clients": [client],
                "claims": ["rmbc_role", "rmbc_trust"],
                "users": accounts,
            }
        )
    )
    config.chmod(0o600)
    process = node_provider(
        SERVER, port, config, "sign-in provider", env={"NODE_ENV": "development"}
    )
    try:
        yield SignInProvider(f"http://127.0.0.1:{port}", CLIENT_ID, client_secret, users)
    finally:
        process.stop()


def signing_key(kid: str) -> dict[str, object]:
    """A fresh RSA private key as a JWK, for a provider to sign its tokens with."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return {**json.loads(RSAAlgorithm.to_jwk(key)), "kid": kid, "use": "sig", "alg": "RS256"}


def node_provider(
    script: Path, port: int, config: Path, name: str, env: dict[str, str]
) -> ManagedProcess:
    """`node script port config` started and answering its discovery document (log beside the
    config); the caller stops it."""
    node = shutil.which("node")
    if node is None or not (script.parent / "node_modules").exists():
        raise StackError(f"the {name} needs Node.js and `make setup` (npm ci in {script.parent})")
    process = ManagedProcess(
        name=name,
        argv=[node, str(script), str(port), str(config)],
        env=env,
        log_file=config.with_suffix(".log"),
        ready_url=f"http://127.0.0.1:{port}/.well-known/openid-configuration",
    )
    return process.start(timeout=30)
