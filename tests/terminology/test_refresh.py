"""`rmbc terminology refresh` against a real HTTP terminology server on loopback (the stand-in in
terminology_server.py): new value sets only when they validate, the active ones untouched else."""

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from services.classifier.terminology import load_terminology
from services.classifier.valuesets.build import EXPANSIONS
from services.classifier.valuesets.load import INDEX, snomed_meanings
from services.classifier.valuesets.refresh import main as refresh
from tests.terminology.terminology_server import app, fixture_expansions, serving


@pytest.fixture(scope="module")
def expansions() -> dict[str, list[dict[str, str]]]:
    return fixture_expansions()


@pytest.fixture
def requests() -> list[dict[str, Any]]:
    return []


@pytest.fixture
def server(expansions: dict[str, Any], requests: list[dict[str, Any]]) -> Iterator[str]:
    with serving(app(expansions, requests)) as base:
        yield base


@pytest.fixture
def active(tmp_path: Path) -> Path:
    """A directory of active value sets: a copy of the shipped ones."""
    directory = tmp_path / "valuesets"
    shutil.copytree(EXPANSIONS, directory)
    return directory


def snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def test_a_refresh_pages_through_each_ecl_and_installs_value_sets_the_classifier_reads(
    server: str, active: Path, requests: list[dict[str, Any]], expansions: dict[str, Any]
) -> None:
    code = refresh(["--server", f"{server}/good", "--out", str(active), "--page-size", "700"])

    assert code == 0
    index = orjson.loads((active / INDEX).read_bytes())["value_sets"]
    assert len(index) == 4 and all("+" in name for name in index)  # the new generation
    assert {r["offset"] for r in requests if r["mode"] == "good"} >= {0, 700, 1400, 2100}
    refreshed = snomed_meanings(active)
    shipped = snomed_meanings(EXPANSIONS)
    served = {e["code"] for members in expansions.values() for e in members}
    assert served - set(refreshed) == {
        code for code in served if code not in shipped
    }  # what the rules read as no diagnosis stays out
    assert {code: refreshed[code] for code in refreshed} == {
        code: shipped[code] for code in refreshed
    }
    terms = load_terminology(value_sets=active)
    meaning = terms.condition_meaning("http://snomed.info/sct", "94222008")
    assert meaning is not None and meaning.site == "bone"
    assert not (active / ".staging").exists()


@pytest.mark.parametrize(
    ("mode", "says"),
    [
        ("garbage", "not JSON"),
        ("error", "HTTP 500"),
        ("outcome", "expected a ValueSet, got OperationOutcome"),
        ("broken", "not a FHIR R4 ValueSet"),
        ("no-breast", "anchor 254837009 is missing"),
    ],
)
def test_a_server_that_answers_garbage_leaves_the_active_value_sets_untouched(
    server: str, active: Path, mode: str, says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(active)

    code = refresh(["--server", f"{server}/{mode}", "--out", str(active), "--page-size", "2000"])

    assert code == 1
    error = capsys.readouterr().err
    assert says in error and "the active value sets are unchanged" in error
    assert snapshot(active) == before
