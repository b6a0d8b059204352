"""What each SNOMED CT concept of a source list means to the classifier (pure; no I/O).

The decision is made here, at build time, from two committed tables: `anchors.csv` (concept id ->
meaning, for the concepts named in DOMAIN and a few the rules would misread) and `rules.toml`
(ordered patterns over the source list's terms). Nothing reads display text at run time: the
classifier only looks codes up in the value sets this produces.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from typing import Any

from services.classifier.immutable import immutable

SEMANTIC_TAG = re.compile(
    r"\s*\((disorder|finding|morphologic abnormality|situation|disease)\)\s*$"
)
READ_PREFIX = re.compile(r"^\[[a-z]+\]\s*")
SPELLINGS = (("tumour", "tumor"), ("leukaem", "leukem"), ("haem", "hem"), ("oesoph", "esoph"))


@immutable
class Concept:
    code: str
    term: str
    hint: str | None  # "secondary" | "primary" | "breast" | "in_situ" | None: the list's word


@immutable
class ConceptMeaning:
    kind: str
    scope: str | None = None
    site: str | None = None
    ambiguous: bool = False
    rule: str = ""


@dataclass(frozen=True)
class Rule:
    group: str
    index: int
    pattern: re.Pattern[str]
    fields: dict[str, Any]

    @property
    def name(self) -> str:
        return f"{self.group}[{self.index}]"


class MeaningRules:
    """The anchors and the ordered term rules, applied one concept at a time."""

    def __init__(self, anchors_csv: str, rules: dict[str, list[dict[str, Any]]]) -> None:
        rows = list(csv.DictReader(io.StringIO(anchors_csv)))
        self.anchors = {
            row["code"]: ConceptMeaning(
                kind=row["kind"],
                scope=row["scope"] or None,
                site=row["site"] or None,
                ambiguous=row["ambiguous"] == "true",
                rule="anchor",
            )
            for row in rows
        }
        self.required = {row["code"] for row in rows if row["required"] == "true"}
        self.terms = {row["code"]: row["term"] for row in rows}
        self._groups = {
            group: [
                Rule(group, index, re.compile(entry["pattern"]), entry)
                for index, entry in enumerate(entries)
            ]
            for group, entries in rules.items()
        }

    def meaning(self, concept: Concept) -> ConceptMeaning | None:
        anchored = self.anchors.get(concept.code)
        if anchored is not None:
            return anchored
        if self._first("semantic_tag", concept.term.lower()):
            return None
        term = normalise(concept.term)
        if concept.hint == "in_situ":
            return ConceptMeaning("in_situ", rule="hierarchy")
        if rule := self._first("in_situ", term):
            return ConceptMeaning("in_situ", rule=rule.name)
        if self._first("not_a_diagnosis", term):
            return None
        if concept.hint == "secondary" or (
            concept.hint is None and self._first("secondary_term", term)
        ):
            return self._secondary(term)
        if concept.hint is None and self._first("complication", term):
            return None
        if concept.hint in ("primary", "breast") or self._first("primary_term", term):
            return self._primary(term, concept.hint == "breast")
        return None

    def _secondary(self, term: str) -> ConceptMeaning:
        origin = self._first("named_origin", term)
        if origin is None:
            return self._site(term, origin_named=False)
        if origin.fields["kind"] != "secondary":
            return ConceptMeaning(origin.fields["kind"], rule=origin.name)
        remainder = origin.pattern.sub(" ", term)
        return self._site(remainder, origin_named=True)

    def _site(self, term: str, origin_named: bool) -> ConceptMeaning:
        """The first site rule that matches. When the term named breast as the origin, the rest
        of the term is read without the breast (local) and catch-all rules: no site is unknown."""
        for rule in self._groups["site"]:
            if origin_named and rule.fields.get("scope") == "local":
                continue
            if origin_named and rule.fields["pattern"] == ".":
                return ConceptMeaning("secondary", "distant", "unknown", rule=f"{rule.name}*")
            if rule.pattern.search(term):
                return ConceptMeaning(
                    "secondary",
                    scope=rule.fields["scope"],
                    site=rule.fields.get("site"),
                    ambiguous=rule.fields.get("ambiguous", False),
                    rule=rule.name,
                )
        raise ValueError("rules.toml: the last site rule must match everything")

    def _primary(self, term: str, breast_by_hierarchy: bool) -> ConceptMeaning:
        if rule := self._first("local_recurrence", term):
            return ConceptMeaning("secondary", scope="local", rule=rule.name)
        if rule := self._first("breast_exception", term):
            return ConceptMeaning("non_breast_primary", rule=rule.name)
        if breast_by_hierarchy:
            return ConceptMeaning("breast_primary", rule="hierarchy")
        if rule := self._first("breast_primary_term", term):
            return ConceptMeaning("breast_primary", rule=rule.name)
        return ConceptMeaning("non_breast_primary", rule="primary")

    def _first(self, group: str, term: str) -> Rule | None:
        return next((r for r in self._groups.get(group, []) if r.pattern.search(term)), None)


def normalise(term: str) -> str:
    """Lower case, without the semantic tag or a Read-derived prefix ("[X]", "[D]")."""
    text = READ_PREFIX.sub("", SEMANTIC_TAG.sub("", term).strip().lower())
    for variant, spelling in SPELLINGS:
        text = text.replace(variant, spelling)
    return text
