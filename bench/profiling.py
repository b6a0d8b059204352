"""Optional sampling profiles of the services under load: set BENCH_PROFILE=<dir> and every
service process the benchmark measures is recorded by py-spy into `<dir>/<name>.txt` (collapsed
stacks, for flamegraph tools or `python -m bench.profiling <file>` for a top list)."""

import collections
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

PY_SPY = Path(sys.executable).with_name("py-spy")


@contextlib.contextmanager
def profiled(processes: dict[str, int]) -> Iterator[None]:
    """Record the given {name: pid} while the block runs, when BENCH_PROFILE names a folder."""
    folder = os.environ.get("BENCH_PROFILE")
    if not folder:
        yield
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    spies = [
        subprocess.Popen(
            [
                str(PY_SPY),
                "record",
                "-p",
                str(pid),
                "-f",
                "raw",
                "--threads",
                "-r",
                "50",
                "-o",
                str(Path(folder) / f"{name}.txt"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for name, pid in processes.items()
    ]
    try:
        yield
    finally:
        for spy in spies:
            spy.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
            spy.wait(30)


def top(path: Path, count: int = 40) -> list[tuple[float, str]]:
    """The functions with the most samples, their own or below them, as shares of all samples."""
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, samples = line.rpartition(" ")
        total += int(samples)
        for frame in set(stack.split(";")):
            inclusive[frame.split(":")[0]] += int(samples)
    return [(n / max(1, total), frame) for frame, n in inclusive.most_common(count)]


if __name__ == "__main__":
    for share, frame in top(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 40):
        print(f"{share:6.1%} {frame[:140]}")
