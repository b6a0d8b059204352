"""`rmbc worklist` refuses to start, naming the variables, when its escalation loop is on and has
no relay sender or directory; its help says to run exactly one loop per deployment."""

import pytest

from services.cli import main
from services.worklist.main import ESCALATION_HELP

WORKLIST_ENV = {
    "RMBC_WORKLIST_OIDC_ISSUER": "https://idp.invalid",
    "RMBC_WORKLIST_OIDC_CLIENT_ID": "rmbc-worklist",
    "RMBC_WORKLIST_OIDC_CLIENT_SECRET": "a-client-secret-of-length",
    "RMBC_WORKLIST_SESSION_SECRET": "a-session-secret-of-length",
}


@pytest.fixture
def worklist_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name, value in WORKLIST_ENV.items():
        monkeypatch.setenv(name, value)
    for name in ("RMBC_SMTP_FROM", "RMBC_DIRECTORY_FILE", "RMBC_WORKLIST_ESCALATION"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_the_escalation_loop_without_a_sender_or_directory_refuses_to_start_and_says_which(
    worklist_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["worklist"]) == 2
    refusal = capsys.readouterr().err
    assert "RMBC_SMTP_FROM" in refusal and "RMBC_DIRECTORY_FILE" in refusal


def test_the_help_says_to_run_exactly_one_escalation_loop_per_deployment(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["worklist", "--help"])
    assert exited.value.code == 0
    shown = capsys.readouterr().out
    assert "Run exactly one loop" in ESCALATION_HELP and ESCALATION_HELP in shown
    assert "RMBC_WORKLIST_ESCALATION" in shown and "RMBC_DIRECTORY_FILE" in shown
