"""Words in a Condition's text that deserve a clinician's look when its codes say nothing.

Small and explicit on purpose: a phrase list in `terminology.json` ("free_text"), matched as whole
words after lower-casing and turning punctuation into spaces. A text also counts as naming breast cancer when it holds
a breast word and a malignancy word anywhere ("Infiltrating duct carcinoma of left breast"). A text
that also holds any exclusion
phrase (a negation such as "no evidence of", "non-metastatic", "ruled out", or another person's
history such as "family history") is not read at all: missing a review is safer than a review
raised by "no evidence of metastatic disease". What the words say is only ever a review flag for
the CNS team (DECISIONS.md "Text review"); it never sets an outcome or reaches a GP.
"""

import re
from collections.abc import Iterable
from typing import Any

from services.classifier.immutable import immutable

QUOTE_LENGTH = 120
_NOT_LETTERS = re.compile(r"[^a-z]+")


@immutable
class Words:
    kind: str  # text_breast | text_secondary | text_metastatic_breast
    quote: str  # the text that said it, as written (cut to QUOTE_LENGTH)


class WordList:
    def __init__(self, data: dict[str, Any]) -> None:
        self._breast = _phrases(data["breast_cancer"])
        self._breast_words = frozenset(data["breast_words"])
        self._malignancy_words = frozenset(data["malignancy_words"])
        self._secondary = _phrases(data["secondary"])
        self._exclusions = _phrases(data["exclusions"])

    def read(self, texts: Iterable[str]) -> Words | None:
        """What the first text naming breast cancer or secondary disease says, if any."""
        for text in texts:
            padded = f" {_NOT_LETTERS.sub(' ', text.lower()).strip()} "
            words = set(padded.split())
            breast = any(p in padded for p in self._breast) or bool(
                words & self._breast_words and words & self._malignancy_words
            )
            secondary = any(p in padded for p in self._secondary)
            if not (breast or secondary) or any(p in padded for p in self._exclusions):
                continue
            kind = (
                "text_metastatic_breast"
                if breast and secondary
                else "text_breast"
                if breast
                else "text_secondary"
            )
            return Words(kind, " ".join(text.split())[:QUOTE_LENGTH])
        return None


def _phrases(phrases: list[str]) -> tuple[str, ...]:
    return tuple(f" {_NOT_LETTERS.sub(' ', p.lower()).strip()} " for p in phrases)
