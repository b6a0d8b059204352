"""deploy/nhsuk_frontend.py puts the worklist's pinned NHS design system into the image without
Node.js: only a tarball with the lock file's sha512 is taken, only its dist/ is unpacked, and the
image points the worklist at it."""

import base64
import hashlib
import importlib.util
import io
import tarfile
from pathlib import Path
from types import ModuleType

import pytest


@pytest.fixture(scope="module")
def fetcher(project_root: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "nhsuk_frontend", project_root / "deploy" / "nhsuk_frontend.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def npm_tarball(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content in files.items():
            member = tarfile.TarInfo(name)
            member.size = len(content)
            archive.addfile(member, io.BytesIO(content))
    return buffer.getvalue()


def integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def test_the_pin_is_the_one_make_setup_installs(fetcher: ModuleType, project_root: Path) -> None:
    version, pinned_integrity = fetcher.pinned()
    package = (project_root / "services/worklist/frontend/package.json").read_text()
    assert f'"nhsuk-frontend": "{version}"' in package
    assert pinned_integrity.startswith("sha512-")


def test_a_tarball_that_is_not_the_pinned_one_is_refused(fetcher: ModuleType) -> None:
    tarball = npm_tarball({"package/dist/nhsuk/nhsuk.min.css": b"body{}"})
    assert fetcher.verified(tarball, integrity(tarball)) == tarball
    with pytest.raises(fetcher.IntegrityError):
        fetcher.verified(tarball + b"\0", integrity(tarball))


def test_only_the_dist_folder_is_unpacked(fetcher: ModuleType, tmp_path: Path) -> None:
    tarball = npm_tarball({"package/dist/nhsuk/nhsuk.min.css": b"body{}",
                           "package/package.json": b"{}",
                           "package/src/nhsuk/index.scss": b""})  # fmt: skip
    dist = fetcher.unpack_dist(tarball, tmp_path)
    assert dist == tmp_path / "dist"
    assert [p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()] == [
        "dist/nhsuk/nhsuk.min.css"
    ]


def test_the_image_points_the_worklist_at_the_unpacked_design_system(project_root: Path) -> None:
    dockerfile = (project_root / "deploy" / "Dockerfile").read_text()
    assert "RUN python deploy/nhsuk_frontend.py /opt/nhsuk-frontend" in dockerfile
    assert "COPY --from=build /opt/nhsuk-frontend /opt/nhsuk-frontend" in dockerfile
    assert "RMBC_WORKLIST_NHSUK_DIST=/opt/nhsuk-frontend/dist" in dockerfile
