"""Fixtures for the notifier's integration tests: a directory and `rmbc notifier` processes."""

import pytest

from tests.integration.notifier.harness import NotifierProcess, notifier_env, write_directory


@pytest.fixture
def directory_file(tmp_path, mesh):
    return write_directory(tmp_path / "directory.json", mesh)


@pytest.fixture
def start(tmp_path, kafka_settings, topics, mesh, smtp_server, directory_file):
    started = []
    directory = directory_file

    def _start(smtp_env=None, **extra):
        env = notifier_env(
            kafka_settings, topics, mesh, smtp_env or smtp_server.env(), directory, **extra
        )
        process = NotifierProcess(env, tmp_path / "notifier.log")
        started.append(process)
        process.wait_ready()
        return process

    yield _start
    for process in started:
        process.stop()
