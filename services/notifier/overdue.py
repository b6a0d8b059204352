"""GP documents whose practice has not answered in time (pure).

GPCM-SD-094/095 (nhsconnect/gpconnect-messaging `_data/senddoc_requirements.yml`): when a document
is not received, or its infrastructure or business acknowledgement does not come, the sender must
inform an appropriate person. The specification sets no time, so the wait is configured
(`RMBC_NOTIFIER_ANSWER_DAYS`). A document MESH accepted (`sent`) that nobody acknowledged in that
time is `not_collected` (MESH's own error 14 report says the same after its 5 days, whichever comes
first); one the practice's system took in (`delivered`) but never filed is `not_filed`. Each is a
negative answer: recorded once (the ledger only moves forward) and told to the CNS team once.
"""

from collections.abc import Iterable
from datetime import datetime, timedelta

from services.notifier.itk3_response import Outcome
from services.notifier.ledger import Entry


def overdue(
    awaiting: Iterable[Entry], now: datetime, within: timedelta
) -> list[tuple[Entry, Outcome]]:
    late = []
    for entry in awaiting:
        if entry.event is None or entry.event.told_sites is None:
            continue  # recorded before documents were timed: never asked to be answered in time
        if now - entry.event.occurred_at < within:
            continue
        days = within.total_seconds() / 86400
        if entry.outcome == "delivered":
            detail = f"the practice took the document in but did not file it within {days:g} days"
            late.append((entry, Outcome("not_filed", True, detail)))
        else:
            detail = (
                f"no acknowledgement from the practice within {days:g} days of MESH accepting it"
            )
            late.append((entry, Outcome("not_collected", True, detail)))
    return late
