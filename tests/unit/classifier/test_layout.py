"""The classifier's layout holds: the rules see the domain values only, and the pure core runs
without faust (services/classifier/DECISIONS.md, "faust")."""

import subprocess
import sys


def modules_loaded_by(*imported: str) -> set[str]:
    """The modules a fresh interpreter holds after importing `imported` (other tests here have
    imported faust already, so this process cannot say)."""
    code = "import sys\n" + "".join(f"import {name}\n" for name in imported)
    code += "print('\\n'.join(sys.modules))"
    shown = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    return set(shown.stdout.split())


def test_the_rules_import_the_domain_values_and_not_their_stored_form() -> None:
    loaded = modules_loaded_by("services.classifier.rules")
    assert "services.classifier.records" in loaded
    assert not {"services.classifier.stored_state", "services.classifier.stored_rows"} & loaded


def test_the_pure_core_and_rmbc_classify_run_without_faust_or_the_stream() -> None:
    loaded = modules_loaded_by("services.classifier.core", "services.classifier.offline")
    assert "services.classifier.state" in loaded
    assert not {m for m in loaded if m.split(".")[0] in ("faust", "mode", "aiokafka")}
    assert not {m for m in loaded if m.startswith("services.classifier.stream")}
