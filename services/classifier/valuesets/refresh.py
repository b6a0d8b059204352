"""`rmbc terminology refresh --server URL [--out DIR]`: the value sets from a trust's terminology
server, with the build's rules, replacing the active ones only once they validate.

For each value set the server is asked for `ValueSet/$expand` of the ECL as an implicit value set
(`http://snomed.info/sct?fhir_vs=ecl/<ECL>`, FHIR R4 "Using SNOMED CT with FHIR", implicit value
sets), page by page with `offset` and `count` (the $expand parameters of FHIR R4). Membership of
an ECL says the concept's kind (breast, in situ, secondary, other primary); anchors.csv and
rules.toml decide the rest exactly as at build time. The new files are written and read back in
a staging directory, validated (FHIR R4B ValueSet shape, none empty, the required anchors present
with their meaning, no concept in two value sets), and only then moved in; the index that names
the active files is replaced last, in one rename, so a classifier starting at any moment reads one
whole generation. A running classifier read its value sets at start and is not touched.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import orjson

from services.classifier.valuesets.build import (
    VALUE_SETS,
    Source,
    ValueSetSpec,
    assign,
    load_rules,
    value_sets,
)
from services.classifier.valuesets.load import INDEX, active_directory, snomed_meanings, write_json
from services.classifier.valuesets.sources_read import expansion_concepts
from services.classifier.valuesets.validate import problems

IMPLICIT_ECL = "http://snomed.info/sct?fhir_vs=ecl/"
PAGE_SIZE = 1000
MAX_PAGES = 1000
STAGING = ".staging"


class RefreshError(Exception):
    pass


def implicit_url(ecl: str) -> str:
    return IMPLICIT_ECL + quote(ecl, safe="")


def expand(client: httpx.Client, server: str, spec: ValueSetSpec, page_size: int) -> Source:
    """Every page of one ECL's expansion, as a build source."""
    endpoint = f"{server.rstrip('/')}/ValueSet/$expand"
    contains: list[dict[str, Any]] = []
    first: dict[str, Any] | None = None
    for _ in range(MAX_PAGES):
        params = {"url": implicit_url(spec.ecl), "offset": len(contains), "count": page_size}
        page = _page(client, endpoint, params, spec)
        first = first or page
        entries = page["expansion"].get("contains") or []
        contains.extend(entries)
        total = page["expansion"].get("total")
        if not entries or (isinstance(total, int) and len(contains) >= total):
            break
    else:
        raise RefreshError(f"{spec.ecl}: more than {MAX_PAGES} pages; is the server paging?")
    assert first is not None
    expansion = first["expansion"]
    versions = [
        p.get("valueUri") or p.get("valueString")
        for p in expansion.get("parameter") or []
        if p.get("name") == "version"
    ]
    resource = {"expansion": {"contains": contains}}
    return Source(
        name=f"{server} $expand {spec.ecl}",
        url=implicit_url(spec.ecl),
        version=", ".join(v for v in versions if v) or str(first.get("version") or "not stated"),
        date=str(expansion["timestamp"]),
        concepts=tuple(expansion_concepts(resource, spec.hint)),
        file="",
        scored=False,
    )


def _page(
    client: httpx.Client, endpoint: str, params: dict[str, Any], spec: ValueSetSpec
) -> dict[str, Any]:
    from fhir.resources.R4B.valueset import ValueSet
    from pydantic import ValidationError

    where = f"{endpoint} ({spec.ecl}, offset {params['offset']})"
    try:
        response = client.get(endpoint, params=params, headers={"Accept": "application/fhir+json"})
    except httpx.HTTPError as error:
        raise RefreshError(f"{where}: {error}") from None
    if response.status_code != 200:
        raise RefreshError(f"{where}: HTTP {response.status_code}: {response.text[:200]!r}")
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        raise RefreshError(f"{where}: the answer is not JSON: {response.text[:80]!r}") from None
    if not isinstance(body, dict) or body.get("resourceType") != "ValueSet":
        kind = body.get("resourceType") if isinstance(body, dict) else type(body).__name__
        raise RefreshError(f"{where}: expected a ValueSet, got {kind}")
    try:
        ValueSet.model_validate(body)
    except ValidationError as error:
        raise RefreshError(f"{where}: not a FHIR R4 ValueSet: {error.errors()[0]['msg']}") from None
    if not isinstance(body.get("expansion"), dict):
        raise RefreshError(f"{where}: the ValueSet has no expansion")
    return body


def refreshed(server: str, page_size: int = PAGE_SIZE, timeout: float = 60.0) -> dict[str, Any]:
    """The new value sets, built from the server's expansions and validated (not yet written)."""
    with httpx.Client(timeout=timeout) as client:
        sources = [expand(client, server, spec, page_size) for spec in VALUE_SETS]
    rules = load_rules()
    newest = max(source.date for source in sources)
    digest = hashlib.sha256(
        orjson.dumps([[c.code, c.term] for s in sources for c in s.concepts])
    ).hexdigest()[:12]
    version = f"{newest[:10]}+{digest}"
    resources = value_sets(assign(sources, rules, add_anchors=False), sources, version, newest)
    found = problems(resources, rules)
    if found:
        raise RefreshError("the server's value sets do not validate: " + "; ".join(found[:10]))
    return resources


def install(resources: dict[str, Any], directory: Path) -> list[str]:
    """Write, read back and validate in a staging directory, then move the files in and replace
    the index last (one atomic rename). Returns the new file names."""
    directory.mkdir(parents=True, exist_ok=True)
    staging = directory / STAGING
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    version = next(iter(resources.values()))["version"]
    names = {name: f"{name.removesuffix('.json')}.{version}.json" for name in resources}
    for name, resource in resources.items():
        (staging / names[name]).write_bytes(write_json(resource))
    (staging / INDEX).write_bytes(orjson.dumps({"value_sets": sorted(names.values())}) + b"\n")
    reread = {name: orjson.loads((staging / names[name]).read_bytes()) for name in resources}
    found = problems(reread, load_rules())
    if found or not snomed_meanings(staging):
        shutil.rmtree(staging)
        raise RefreshError("the staged files do not validate: " + "; ".join(found[:10]))
    previous = _index(directory)
    for file_name in names.values():
        os.replace(staging / file_name, directory / file_name)
    os.replace(staging / INDEX, directory / INDEX)
    staging.rmdir()
    keep = set(names.values()) | set(previous) | {INDEX}
    for path in directory.glob("*.json"):
        if path.name not in keep and _generated(path.name):
            path.unlink()
    return sorted(names.values())


def _index(directory: Path) -> list[str]:
    try:
        names: list[str] = orjson.loads((directory / INDEX).read_bytes())["value_sets"]
    except (OSError, orjson.JSONDecodeError, KeyError, TypeError):
        return []
    return names


def _generated(file_name: str) -> bool:
    """A value set file of an older generation (kept: the current and the one before)."""
    return any(file_name.startswith(f"{spec.name}.") for spec in VALUE_SETS)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="rmbc terminology refresh",
        description="Refresh the SNOMED CT value sets from a FHIR terminology server "
        "(ValueSet/$expand of each ECL); the active files change only when the new ones validate.",
    )
    parser.add_argument("--server", required=True, help="FHIR base URL of the terminology server")
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="directory of the active value sets (default: RMBC_VALUE_SETS_DIR, else the package's)",
    )
    parser.add_argument("--page-size", type=int, default=PAGE_SIZE, help="$expand count per page")
    args = parser.parse_args(argv)
    directory = args.out or active_directory()
    try:
        files = install(refreshed(args.server, args.page_size), directory)
    except RefreshError as error:
        print(
            f"rmbc terminology refresh: {error}; the active value sets are unchanged",
            file=sys.stderr,
        )
        return 1
    print(f"rmbc terminology refresh: {directory}: {', '.join(files)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
