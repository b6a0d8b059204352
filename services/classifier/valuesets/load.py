"""Read the built value sets into the classifier's code -> meaning table (once, at start).

Kept apart from the build so that the classifier imports only this: orjson and a few lines.
The active set is the one `index.json` names; `rmbc terminology refresh` replaces that index in
one atomic rename, so a classifier starting at any moment reads one whole generation.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson

SNOMED = "http://snomed.info/sct"
MEANING_URL = "urn:rmbc:fhir:StructureDefinition:classifier-meaning"
INDEX = "index.json"
PACKAGED = Path(__file__).with_name("expansions")
DIRECTORY_VARIABLE = "RMBC_VALUE_SETS_DIR"


def active_directory() -> Path:
    """The package's value sets, or a trust's refreshed ones when RMBC_VALUE_SETS_DIR names them."""
    configured = os.environ.get(DIRECTORY_VARIABLE)
    return Path(configured) if configured else PACKAGED


class ValueSetsUnreadable(ValueError):
    pass


def snomed_meanings(directory: Path) -> dict[str, dict[str, Any]]:
    """SNOMED CT code -> {"kind", "scope"?, "site"?, "ambiguous"?}: terminology.json's entry shape.
    A directory that cannot be read stops the start with what and where, never a partial table."""
    try:
        return _read(directory)
    except (OSError, orjson.JSONDecodeError, KeyError, TypeError, AttributeError) as error:
        raise ValueSetsUnreadable(
            f"{directory}: the SNOMED CT value sets cannot be read ({type(error).__name__}: "
            f"{error}); rebuild them (rmbc terminology build) or refresh them"
        ) from error


def _read(directory: Path) -> dict[str, dict[str, Any]]:
    index = orjson.loads((directory / INDEX).read_bytes())
    table: dict[str, dict[str, Any]] = {}
    shared: dict[tuple[tuple[str, Any], ...], dict[str, Any]] = {}  # a few dozen distinct meanings
    for name in index["value_sets"]:
        resource = orjson.loads((directory / name).read_bytes())
        for entry in resource["expansion"].get("contains", []):
            if entry.get("system") == SNOMED:
                meaning = meaning_of(entry)
                table[entry["code"]] = shared.setdefault(tuple(meaning.items()), meaning)
    return table


def meaning_of(entry: dict[str, Any]) -> dict[str, Any]:
    meaning: dict[str, Any] = {}
    for extension in entry.get("extension", []):
        if extension.get("url") == MEANING_URL:
            for part in extension["extension"]:
                if part["url"] != "rule":
                    meaning[part["url"]] = part.get("valueCode", part.get("valueBoolean"))
    return meaning


def write_json(resource: dict[str, Any]) -> bytes:
    """A ValueSet as reviewable text: the resource indented, one expansion entry per line."""
    contains = resource["expansion"]["contains"]
    shell = {**resource, "expansion": {**resource["expansion"], "contains": []}}
    text = orjson.dumps(shell, option=orjson.OPT_INDENT_2).decode()
    if contains:
        lines = ",\n      ".join(orjson.dumps(entry).decode() for entry in contains)
        text = text.replace('"contains": []', f'"contains": [\n      {lines}\n    ]', 1)
    return (text + "\n").encode()
