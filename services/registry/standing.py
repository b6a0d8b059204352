"""Which registry records stand once people have agreed an episode (pure).

After the MDT agreed an episode (confirmed it, or did not confirm it), a later record that rmbc's
rules proposed for it does not replace the agreed one: it is held until the MDT decides again,
which makes a new agreed record (services/registry/agreement.py). Records are taken in the order
they were recorded.
"""

from collections.abc import Iterable

from shared.events import RegistryRecordV2


def split_standing(
    records: Iterable[RegistryRecordV2],
) -> tuple[list[RegistryRecordV2], list[RegistryRecordV2]]:
    """(the records that stand, the rules' proposals held for the MDT), each in recorded order."""
    agreed_episodes: set[str] = set()
    standing: list[RegistryRecordV2] = []
    held: list[RegistryRecordV2] = []
    for record in sorted(records, key=lambda r: r.recorded_at):
        if record.provenance == "agreed":
            agreed_episodes.add(record.flag_id)
        elif record.flag_id in agreed_episodes:
            held.append(record)
            continue
        standing.append(record)
    return standing, held


def standing_records(records: Iterable[RegistryRecordV2]) -> list[RegistryRecordV2]:
    return split_standing(records)[0]
