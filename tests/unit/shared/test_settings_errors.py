"""A settings error names the variable and what is wrong with it, never the value it held."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PASSWORD = "hunter2-not-for-any-screen"
INVALID_KAFKA = {
    "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
    "KAFKA_SASL_PASSWORD": PASSWORD,
    "RMBC_INGEST_TOKENS": "a-long-enough-test-token-1",
}


@pytest.mark.parametrize(
    ("command", "environment", "named"),
    [
        ("ingest", INVALID_KAFKA, "KAFKA_SECURITY_PROTOCOL"),
        ("classifier", INVALID_KAFKA, "KAFKA_SECURITY_PROTOCOL"),
        ("ingest", {**INVALID_KAFKA, "KAFKA_SASL_MECHANISM": PASSWORD}, "KAFKA_SASL_MECHANISM"),
        ("ingest", {"RMBC_INGEST_PORT": PASSWORD}, "RMBC_INGEST_PORT"),
    ],
)
def test_invalid_settings_stop_the_start_naming_the_variable_without_its_value(
    command: str, environment: dict[str, str], named: str
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "services.cli", command],
        env={"PATH": "/usr/bin:/bin", **environment},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert named in done.stderr
    assert PASSWORD not in done.stderr + done.stdout
    assert "Traceback" not in done.stderr
