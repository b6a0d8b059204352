import sys
from pathlib import Path

import pytest

from services.demo.stack import ManagedProcess, StackError


def test_a_process_that_never_becomes_ready_is_stopped_not_left_running(tmp_path: Path) -> None:
    sleeper = ManagedProcess(
        name="sleeper",
        argv=[sys.executable, "-c", "import time; time.sleep(60)"],
        env={},
        log_file=tmp_path / "sleeper.log",
        ready_url="http://127.0.0.1:9/never",  # nothing answers on the discard port
    )
    with pytest.raises(StackError, match="not ready"):
        sleeper.start(timeout=0.5)
    assert sleeper.process is not None and sleeper.process.poll() is not None
