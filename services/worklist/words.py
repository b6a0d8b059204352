"""The finding and its evidence in plain words, as the CNS e-mail and GP letter say them.

The wording is the notifier's (services/notifier/facts.py), so a nurse reads the same sentence in
the e-mail and on the worklist."""

from collections.abc import Iterable

from services.notifier.facts import SITE_WORDS, finding
from services.notifier.facts import _evidence_line as evidence_line
from shared.events import CancerFlag

__all__ = ["evidence_lines", "finding", "site_words"]


def site_words(sites: Iterable[str]) -> str:
    words = [SITE_WORDS.get(site, site) for site in sites]
    return ", ".join(words) if words else "none recorded"


def evidence_lines(flag: CancerFlag) -> list[str]:
    return [evidence_line(e) for e in flag.evidence]
