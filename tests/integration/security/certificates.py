"""A throwaway CA, a server certificate for 127.0.0.1 / localhost and client certificates (mutual
TLS), made with the openssl CLI.

Written to a temporary directory per test session; never committed.
"""

import shutil
import ssl
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from services.demo.stack import ManagedProcess


@dataclass(frozen=True)
class Certificates:
    ca_cert: Path
    server_cert: Path
    server_key: Path


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_certificates(directory: Path) -> Certificates:
    if shutil.which("openssl") is None:
        raise RuntimeError("the TLS tests need the openssl command (apt-get install openssl)")
    directory.mkdir(parents=True, exist_ok=True)
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-subj", "/CN=rmbc test CA", "-keyout", "ca.key", "-out", "ca.crt",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=directory)  # fmt: skip
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
             "-keyout", "server.key", "-out", "server.csr", cwd=directory)  # fmt: skip
    (directory / "server.ext").write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
        "extendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
    )
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
             "-CAcreateserial", "-days", "2", "-extfile", "server.ext", "-out", "server.crt",
             cwd=directory)  # fmt: skip
    return Certificates(directory / "ca.crt", directory / "server.crt", directory / "server.key")


@dataclass(frozen=True)
class ClientCertificate:
    cert: Path
    key: Path


def make_client_certificate(
    certificates: Certificates, common_name: str, *, ca: Certificates | None = None
) -> ClientCertificate:
    """A client certificate with subject CN=`common_name`, signed by `ca` (default: the CA of
    `certificates`), written next to it."""
    signer = ca or certificates
    directory = certificates.ca_cert.parent
    stem = f"client-{common_name}-{signer.ca_cert.parent.name}".replace(" ", "_")
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={common_name}",
             "-keyout", f"{stem}.key", "-out", f"{stem}.csr", cwd=directory)  # fmt: skip
    (directory / f"{stem}.ext").write_text(
        "extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
    )
    _openssl("x509", "-req", "-in", f"{stem}.csr", "-CA", str(signer.ca_cert),
             "-CAkey", str(signer.ca_cert.with_suffix(".key")), "-CAcreateserial", "-days", "2",
             "-extfile", f"{stem}.ext", "-out", f"{stem}.crt", cwd=directory)  # fmt: skip
    return ClientCertificate(directory / f"{stem}.crt", directory / f"{stem}.key")


def wait_until_ready_over_tls(
    process: ManagedProcess, url: str, verify: ssl.SSLContext, timeout: float
) -> None:
    """Wait for `url`/readyz to answer 200 over TLS; fail at once if the process exits."""
    deadline = time.monotonic() + timeout
    with httpx.Client(verify=verify, timeout=2) as client:
        while time.monotonic() < deadline:
            assert process.running, process.log_file.read_text()[-2000:]
            try:
                if client.get(url + "/readyz").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
    raise AssertionError(f"{process.name} not ready over TLS within {timeout}s")
