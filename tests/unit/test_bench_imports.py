"""The benchmark is not part of the test suite, but it must keep importing as the code moves."""

import importlib
import pkgutil

import bench


def test_every_benchmark_module_imports() -> None:
    names = [info.name for info in pkgutil.iter_modules(bench.__path__)]
    assert {"e2e", "classifier", "ingest", "stream", "scale"} <= set(names)
    for name in names:
        importlib.import_module(f"bench.{name}")
