"""Put the worklist's pinned NHS design system (npm package `nhsuk-frontend`) into the image, with
no Node.js there: the version and the sha512 integrity come from npm's lock file
(services/worklist/frontend/package-lock.json, the same pin `make setup` installs with `npm ci`),
the tarball from the npm registry's address for it (or a file given with --tarball), and only its
`dist/` folder is unpacked, into TARGET/dist (what RMBC_WORKLIST_NHSUK_DIST names).

    python deploy/nhsuk_frontend.py /opt/nhsuk-frontend [--tarball nhsuk-frontend-10.6.1.tgz]
"""

import argparse
import base64
import hashlib
import io
import json
import tarfile
import urllib.request
from pathlib import Path

LOCK = Path(__file__).resolve().parents[1] / "services/worklist/frontend/package-lock.json"
PACKAGE = "nhsuk-frontend"
REGISTRY = "https://registry.npmjs.org"


class IntegrityError(ValueError):
    """The tarball is not the one the lock file pins."""


def pinned(lock: Path = LOCK) -> tuple[str, str]:
    """(version, integrity) of the package in npm's lock file (lockfileVersion 2 or 3)."""
    entry = json.loads(lock.read_text())["packages"][f"node_modules/{PACKAGE}"]
    return entry["version"], entry["integrity"]


def verified(tarball: bytes, integrity: str) -> bytes:
    """The tarball, if its digest is the lock file's Subresource Integrity value (sha512-<base64>)."""
    algorithm, _, expected = integrity.partition("-")
    if algorithm != "sha512":
        raise IntegrityError(f"unsupported integrity algorithm {algorithm!r}")
    if base64.b64encode(hashlib.sha512(tarball).digest()).decode() != expected:
        raise IntegrityError(f"{PACKAGE}: the tarball does not match the lock file's integrity")
    return tarball


def unpack_dist(tarball: bytes, target: Path) -> Path:
    """Unpack `package/dist/` of an npm tarball into target/dist; the path of that folder."""
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        members = [m for m in archive.getmembers() if m.name.startswith("package/dist/")]
        for member in members:
            member.name = member.name.removeprefix("package/")
        archive.extractall(target, members=members, filter="data")  # no links out, no devices
    return target / "dist"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("target", type=Path)
    parser.add_argument("--tarball", type=Path, help="a downloaded tarball instead of the registry")
    args = parser.parse_args()
    version, integrity = pinned()
    if args.tarball:
        data = args.tarball.read_bytes()
    else:
        url = f"{REGISTRY}/{PACKAGE}/-/{PACKAGE}-{version}.tgz"
        with urllib.request.urlopen(url, timeout=60) as response:
            data = response.read()
    dist = unpack_dist(verified(data, integrity), args.target)
    print(f"{PACKAGE} {version} -> {dist}")


if __name__ == "__main__":
    main()
