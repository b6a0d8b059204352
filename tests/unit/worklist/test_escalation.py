from datetime import UTC, datetime
from email import message_from_bytes
from email.policy import default

from services.worklist.escalation import (
    Watch,
    escalation_email,
    escalation_event,
    escalation_id,
    teams_by_email,
)
from services.worklist.overdue import LONDON, england_and_wales_bank_holidays
from tests.unit.notifier.factory import CNS_EMAIL, NHS_NUMBER, flag
from tests.unit.registry.reviews import review
from tests.unit.worklist.alerts import MDT_LEAD_EMAIL, directory, team_alert

HOLIDAYS = england_and_wales_bank_holidays()
CHRISTMAS_EVE = datetime(2026, 12, 24, 15, 0, tzinfo=LONDON)  # due by the end of 30 December
LAST_MOMENT = datetime(2026, 12, 30, 23, 59, tzinfo=LONDON)
OVERDUE = datetime(2026, 12, 31, 0, 0, tzinfo=LONDON)
TEAMS = teams_by_email(directory())


def watching(*events: object) -> Watch:
    watch = Watch()
    for event in events:
        kind = type(event).__name__
        if kind == "AlertEvent":
            watch.hear_alert(event)  # type: ignore[arg-type]
        elif kind == "ReviewEvent":
            watch.hear_review(event)  # type: ignore[arg-type]
        else:
            watch.hear_flag(event)  # type: ignore[arg-type]
    return watch


def test_an_unacknowledged_alert_is_due_for_escalation_once_its_working_days_have_passed() -> None:
    sent = team_alert(CHRISTMAS_EVE)
    watch = watching(sent)
    assert watch.due(LAST_MOMENT, 2, HOLIDAYS, TEAMS) == []
    [escalation] = watch.due(OVERDUE, 2, HOLIDAYS, TEAMS)
    assert escalation.escalation_id == escalation_id(sent.flag_id, CNS_EMAIL)
    assert escalation.mdt_lead_email == MDT_LEAD_EMAIL
    assert (escalation.alert.alert_id, escalation.attempt) == (sent.alert_id, 1)


def test_an_acknowledged_alert_is_never_escalated() -> None:
    sent = team_alert(CHRISTMAS_EVE)
    watch = watching(sent, review(sent.flag_id, "acknowledged"))
    assert watch.due(OVERDUE, 2, HOLIDAYS, TEAMS) == []


def test_a_retracted_flag_is_never_escalated() -> None:
    sent = team_alert(CHRISTMAS_EVE)
    assert (
        watching(sent, flag(state="retracted", revision=2)).due(OVERDUE, 2, HOLIDAYS, TEAMS) == []
    )


def test_a_correction_recorded_by_the_notifier_also_closes_the_item() -> None:
    sent = team_alert(CHRISTMAS_EVE)
    correction = team_alert(CHRISTMAS_EVE, state="retracted", revision=2, outcome="attempting")
    assert watching(sent, correction).due(OVERDUE, 2, HOLIDAYS, TEAMS) == []


def test_a_gp_letter_or_an_unsent_e_mail_is_not_an_item_to_escalate() -> None:
    gp_letter = team_alert(CHRISTMAS_EVE, channel="mesh")
    failing = team_alert(CHRISTMAS_EVE, outcome="failed")
    assert watching(gp_letter, failing).due(OVERDUE, 2, HOLIDAYS, TEAMS) == []


def test_an_escalation_recorded_as_escalated_is_never_due_again() -> None:
    watch = watching(team_alert(CHRISTMAS_EVE))
    [escalation] = watch.due(OVERDUE, 2, HOLIDAYS, TEAMS)
    watch.hear_alert(escalation_event(escalation, "attempting", OVERDUE))
    [retry] = watch.due(OVERDUE, 2, HOLIDAYS, TEAMS)  # a crash before it was recorded: again
    assert retry.attempt == 2
    watch.hear_alert(escalation_event(retry, "escalated", OVERDUE))
    assert watch.due(OVERDUE, 2, HOLIDAYS, TEAMS) == []


def test_a_team_without_an_mdt_lead_gives_an_escalation_with_nowhere_to_go() -> None:
    teams = teams_by_email(directory(with_mdt_lead=False))
    [escalation] = watching(team_alert(CHRISTMAS_EVE)).due(OVERDUE, 2, HOLIDAYS, teams)
    assert escalation.mdt_lead_email is None
    unroutable = escalation_event(escalation, "unroutable", OVERDUE)
    assert unroutable.recipient == f"mdt-lead:{CNS_EMAIL}"


def test_the_escalation_is_recorded_on_the_alerts_topic_with_its_own_deterministic_id() -> None:
    [escalation] = watching(team_alert(CHRISTMAS_EVE)).due(OVERDUE, 2, HOLIDAYS, TEAMS)
    event = escalation_event(escalation, "escalated", OVERDUE, transport_id="<m@rmbc>")
    assert (event.alert_id, event.outcome, event.channel) == (
        escalation.escalation_id,
        "escalated",
        "smtp",
    )
    assert event.recipient == MDT_LEAD_EMAIL
    assert event.event_id == escalation_event(escalation, "escalated", OVERDUE).event_id
    assert "not acknowledged by 2026-12-31T00:00:00+00:00" in (event.detail or "")


def test_the_e_mail_to_the_mdt_lead_says_what_is_overdue_and_names_no_patient() -> None:
    [escalation] = watching(team_alert(CHRISTMAS_EVE)).due(OVERDUE, 2, HOLIDAYS, TEAMS)
    email = escalation_email(
        escalation,
        sender="rmbc@example-hospitals.nhs.net",
        working_days=2,
        worklist_url="https://worklist.example-hospitals.nhs.uk",
        now=OVERDUE.astimezone(UTC),
    )
    message = message_from_bytes(email.data, policy=default)
    assert message["To"] == MDT_LEAD_EMAIL
    assert message["Message-ID"] == f"<{escalation.escalation_id}@rmbc>"
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "sent to Breast CNS team on 24 December 2026" in text
    assert "within 2 working days (due by the end of 30 December 2026)" in text
    assert escalation.alert.flag_id in text
    assert NHS_NUMBER not in text and NHS_NUMBER not in message["Subject"]
    assert "O'Brien" not in text
