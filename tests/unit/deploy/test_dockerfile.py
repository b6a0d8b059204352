"""deploy/Dockerfile: pinned base, the lock file, a non-root user, `rmbc` as the entrypoint."""

import re

import pytest

EXTERNAL_FROM = re.compile(r"^FROM (?P<image>\S+) AS (?P<stage>\S+)$", re.MULTILINE)


@pytest.fixture(scope="module")
def dockerfile(project_root):
    return (project_root / "deploy" / "Dockerfile").read_text()


def stage(dockerfile: str, name: str) -> str:
    starts = [m for m in EXTERNAL_FROM.finditer(dockerfile)]
    (match,) = [m for m in starts if m["stage"] == name]
    following = [m.start() for m in starts if m.start() > match.start()]
    return dockerfile[match.start() : following[0] if following else len(dockerfile)]


def test_the_base_image_is_python_3_11_pinned_to_an_exact_version_and_digest(dockerfile):
    images = [m["image"] for m in EXTERNAL_FROM.finditer(dockerfile)]
    external = [image for image in images if ":" in image]
    assert external, "no base image"
    for image in external:
        assert re.fullmatch(r"python:3\.11\.\d+-slim@sha256:[0-9a-f]{64}", image), image


def test_the_services_are_installed_from_the_lock_file(dockerfile):
    build = stage(dockerfile, "build")
    assert "COPY pyproject.toml requirements.lock" in build
    assert "-c requirements.lock ." in build


def test_mesh_sandbox_gets_a_virtual_environment_of_its_own(dockerfile):
    mesh = stage(dockerfile, "mesh-sandbox")
    assert "deploy/mesh-sandbox.requirements.txt" in mesh
    assert "python -m venv /opt/mesh" in mesh
    assert "/opt/rmbc" not in mesh


@pytest.mark.parametrize("name", ["rmbc", "mesh-sandbox"])
def test_every_runnable_stage_runs_as_a_numeric_non_root_user(dockerfile, name):
    users = re.findall(r"^USER (\S+)$", stage(dockerfile, name), flags=re.MULTILINE)
    assert users and users[-1].split(":")[0].isdigit() and users[-1].split(":")[0] != "0"


def test_the_default_target_is_the_services_image_with_rmbc_as_entrypoint(dockerfile):
    stages = [m["stage"] for m in EXTERNAL_FROM.finditer(dockerfile)]
    assert stages[-1] == "rmbc"
    assert 'ENTRYPOINT ["rmbc"]' in stage(dockerfile, "rmbc")


def test_the_build_context_sends_only_what_the_image_needs(project_root, dockerfile):
    ignore = (project_root / ".dockerignore").read_text().splitlines()
    assert ignore[[line.startswith("#") for line in ignore].index(False)] == "*"
    included = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    copied = re.findall(r"^COPY (?!--from)(.+) \S+$", dockerfile, flags=re.MULTILINE)
    for sources in copied:
        for source in sources.split():
            assert source.rstrip("/") in included, f"{source} is excluded from the context"
            assert (project_root / source).exists()
