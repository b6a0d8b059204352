"""`rmbc up` as a new user runs it: the whole stack, its addresses printed, the examples sent as
they are (the bundle as curl sends it, the NDJSON feed with `rmbc replay`), the CNS e-mails
readable in a browser, and everything stopped on Ctrl-C, even from a job that ignores SIGINT."""

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx
import orjson

from shared.settings import KafkaSettings
from shared.state_dir import PROJECT_ROOT
from shared.topics import TopicNames
from tests.e2e.test_demo_command import _processes_mentioning, ignoring_sigint

EXAMPLES = PROJECT_ROOT / "examples" / "fhir"


def printed(process: subprocess.Popen[str], until: str, timeout: float) -> str:
    """stdout up to and including the line holding `until`; fails at the deadline."""
    lines: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    stdout = process.stdout
    threading.Thread(target=lambda: [lines.put(line) for line in stdout], daemon=True).start()
    text, deadline = "", time.monotonic() + timeout
    while until not in text:
        assert process.poll() is None, text
        try:
            text += lines.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            raise AssertionError(f"`{until}` not printed within {timeout}s:\n{text}") from None
    return text


def field(text: str, label: str) -> str:
    match = re.search(rf"^\s+{label}\s+(\S+)", text, re.MULTILINE)
    assert match, f"{label} not printed:\n{text}"
    return match.group(1)


def test_rmbc_up_takes_the_examples_as_they_are_shows_the_mail_and_stops_on_ctrl_c(
    kafka_settings: KafkaSettings, tmp_path: Path
) -> None:
    run = uuid.uuid4().hex[:10]
    topics = TopicNames.with_suffix(run)
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_settings.bootstrap_servers,
        "RMBC_STATE_DIR": str(tmp_path / "state"),
        "RMBC_CLASSIFIER_APP_ID": f"rmbc-up-{run}",
        **{f"RMBC_TOPIC_{k.upper()}": v for k, v in topics.model_dump().items()},
    }
    up = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "up"],
        stdout=subprocess.PIPE, stderr=(tmp_path / "up.err").open("w"), text=True, env=env,
        cwd=tmp_path, preexec_fn=ignoring_sigint,
    )  # fmt: skip
    try:
        text = printed(up, "rmbc replay", timeout=180)
        fhir, token = field(text, "FHIR R4 API"), field(text, "bearer token")
        mail_page = field(text, r"CNS e-mails \(web\)")
        bundle = httpx.post(
            fhir,
            content=(EXAMPLES / "transaction-bundle.json").read_bytes(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"},
            timeout=30,
        )
        assert bundle.status_code == 200, bundle.text
        answers = [e["response"]["status"] for e in orjson.loads(bundle.content)["entry"]]
        assert answers and all(status.startswith("201") for status in answers)
        replay = subprocess.run(
            [sys.executable, "-m", "services.cli", "replay", "--url", fhir.removesuffix("/fhir"),
             "--token", token, "--quiet", str(EXAMPLES / "feed.ndjson")],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert replay.returncode == 0, replay.stdout + replay.stderr
        assert "4 accepted, 0 refused" in replay.stdout
        page, deadline = "", time.monotonic() + 90
        while "e-mails received (2)" not in page and time.monotonic() < deadline:
            page = httpx.get(mail_page, timeout=5).text
            time.sleep(0.5)
        assert "e-mails received (2)" in page, page  # one CNS alert per example patient
        assert "recurrent or metastatic breast cancer" in page
        worklist = field(text, r"worklist \(web\)")
        refused = httpx.get(worklist, timeout=10)
        assert refused.status_code == 303 and refused.headers["location"] == "/auth/login"
        password = re.search(r"cns\s+username 'cns'\s+password '(\S+)'", text)
        assert password, text
        with httpx.Client(base_url=worklist, follow_redirects=True, timeout=15) as nurse:
            form = nurse.get("/auth/login")
            action = re.search(r'action="([^"]+)"', form.text)
            assert action, form.text
            listed = nurse.post(str(form.url.join(action.group(1))),
                                data={"username": "cns", "password": password.group(1)})  # fmt: skip
        assert "2 items, overdue first, then newest" in listed.text, listed.text
        assert _processes_mentioning(str(tmp_path / "state")), "the services run until Ctrl-C"
        up.send_signal(signal.SIGINT)
        assert up.wait(60) == 0
    finally:
        if up.poll() is None:
            up.kill()
    assert _processes_mentioning(str(tmp_path / "state")) == []
