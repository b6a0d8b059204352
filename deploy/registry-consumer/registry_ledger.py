"""What a registry holds after each record: one current record per episode (the flag it came from).

`submit` files a record, `amend` replaces it (it supersedes the earlier one), `withdraw` removes it.
Applying the same record twice gives the same holdings, so a redelivered message changes nothing.
"""

from collections.abc import Mapping

from shared.events import RegistryRecord


def apply(held: Mapping[str, RegistryRecord], record: RegistryRecord) -> dict[str, RegistryRecord]:
    """The holdings after `record`, keyed by flag id; `held` is left unchanged."""
    after = dict(held)
    if record.action == "withdraw":
        after.pop(record.flag_id, None)
    else:
        after[record.flag_id] = record
    return after


def summary(held: Mapping[str, RegistryRecord]) -> dict[str, int]:
    """Counts by record type, for a log line that carries no patient identifiers."""
    counts: dict[str, int] = {}
    for record in held.values():
        counts[record.record_type] = counts.get(record.record_type, 0) + 1
    return counts
