from datetime import datetime, timedelta

from services.worklist.items import Worklist
from services.worklist.outcomes import is_overdue, outcomes, prometheus_text
from tests.support.worklist_events import T0, flag, review


def _two_days(alerted_at: datetime) -> datetime:
    return alerted_at + timedelta(days=2)


def _worklist() -> Worklist:
    worklist = Worklist()
    for n, hours in ((1, 2), (2, 10), (3, 70)):  # acknowledged after 2 h, 10 h, 70 h
        worklist.apply(flag(f"f{n}"))
        worklist.apply(review(f"r{n}", flag_id=f"f{n}", at=T0 + timedelta(hours=hours)))
    worklist.apply(flag("f4", kind="de_novo_metastatic", sites=("liver",)))  # never acknowledged
    worklist.apply(review("m1", "confirmed", flag_id="f1", previous="r1"))
    worklist.apply(review("m2", "not_confirmed", flag_id="f2", previous="r2"))
    worklist.apply(review("m4", "confirmed", flag_id="f4"))
    return worklist


def test_acknowledgements_are_counted_against_their_deadline() -> None:
    figures = outcomes(_worklist().items.values(), _two_days, T0 + timedelta(days=5))
    # f3 was acknowledged late and f4 not at all: both count against the share
    assert (figures.acknowledged_in_time, figures.acknowledgement_due) == (2, 4)
    assert figures.share_acknowledged_in_time == 0.5
    assert (figures.hours_to_acknowledge_median, figures.hours_to_acknowledge_p90) == (10, 70)


def test_an_item_not_yet_due_is_neither_overdue_nor_counted() -> None:
    worklist = _worklist()
    figures = outcomes(worklist.items.values(), _two_days, T0 + timedelta(days=1))
    assert figures.open_overdue == 0
    assert figures.acknowledgement_due == 3  # the three acknowledged; f4 is not yet due
    item = worklist.item("f4")
    assert item is not None
    assert not is_overdue(item, _two_days, T0 + timedelta(days=1))
    assert is_overdue(item, _two_days, T0 + timedelta(days=3))


def test_mdt_decisions_give_rmbc_precision_by_kind_and_site() -> None:
    figures = outcomes(_worklist().items.values(), _two_days, T0 + timedelta(days=5))
    assert figures.by_kind == {
        ("recurrence", "confirmed"): 1,
        ("recurrence", "not_confirmed"): 1,
        ("de_novo_metastatic", "confirmed"): 1,
    }
    assert figures.precision("recurrence") == 0.5
    assert figures.by_site[("liver", "confirmed")] == 1
    assert figures.open_overdue == 1


def test_the_metrics_text_labels_every_figure_with_the_trust() -> None:
    text = prometheus_text(
        outcomes(_worklist().items.values(), _two_days, T0 + timedelta(days=5)), "RX1"
    )
    assert 'rmbc_worklist_open_overdue{trust="RX1"} 1' in text
    assert (
        'rmbc_worklist_mdt_decisions_by_kind{trust="RX1",kind="recurrence",decision="not_confirmed"} 1'
        in text
    )
    assert 'rmbc_worklist_hours_to_acknowledge_p90{trust="RX1"} 70' in text
