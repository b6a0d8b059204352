from services.notifier.decisions import EarlierAlert, alert_id, plan_for
from services.notifier.registry_record import record_id
from tests.unit.notifier.factory import CNS_EMAIL, GP_MAILBOX, NOW, directory, flag, patient


def delivered(f, recipient, channel, purpose="alert", outcome="sent"):
    return EarlierAlert(alert_id(f.flag_id, recipient, purpose), channel, recipient, outcome)


def test_a_raised_recurrence_alerts_the_gp_by_mesh_and_the_cns_team_by_email():
    plan = plan_for(flag(), directory(), [], NOW)
    assert [(d.channel, d.recipient, d.purpose) for d in plan.deliveries] == [
        ("mesh", GP_MAILBOX, "alert"),
        ("smtp", CNS_EMAIL, "alert"),
    ]
    assert plan.unroutable == ()


def test_a_raised_recurrence_submits_a_non_primary_pathway_recurrence_record():
    plan = plan_for(flag(), directory(), [], NOW)
    assert plan.record is not None
    assert plan.record.action == "submit"
    assert plan.record.record_type == "non_primary_pathway"
    assert plan.record.non_primary_category == "recurrence"
    assert plan.record.supersedes is None


def test_progression_is_recorded_as_a_non_primary_progression_and_alerts_both():
    plan = plan_for(flag(kind="metastatic_progression"), directory(), [], NOW)
    assert plan.record is not None and plan.record.non_primary_category == "progression"
    assert {d.channel for d in plan.deliveries} == {"mesh", "smtp"}


def test_de_novo_metastatic_disease_is_recorded_as_metastatic_at_diagnosis():
    plan = plan_for(flag(kind="de_novo_metastatic"), directory(), [], NOW)
    assert plan.record is not None
    assert plan.record.record_type == "metastatic_at_diagnosis"
    assert plan.record.non_primary_category is None
    assert {d.channel for d in plan.deliveries} == {"mesh", "smtp"}


def test_a_review_flag_goes_to_the_cns_team_only_with_no_registry_record():
    plan = plan_for(flag(kind="review"), directory(), [], NOW)
    assert [(d.channel, d.purpose) for d in plan.deliveries] == [("smtp", "review")]
    assert plan.record is None


def test_alert_ids_are_deterministic_and_differ_by_recipient_and_purpose():
    first = plan_for(flag(), directory(), [], NOW)
    again = plan_for(flag(), directory(), [], NOW)
    assert [d.alert_id for d in first.deliveries] == [d.alert_id for d in again.deliveries]
    assert len({d.alert_id for d in first.deliveries}) == 2
    f = flag()
    assert alert_id(f.flag_id, GP_MAILBOX, "alert") != alert_id(f.flag_id, GP_MAILBOX, "correction")


def test_an_update_amends_the_record_and_sends_no_new_letter():
    raised = flag()
    earlier = [delivered(raised, GP_MAILBOX, "mesh"), delivered(raised, CNS_EMAIL, "smtp")]
    plan = plan_for(flag(state="updated", revision=2), directory(), earlier, NOW)
    assert plan.deliveries == ()
    assert plan.record is not None and plan.record.action == "amend"
    assert plan.record.supersedes == record_id(raised.flag_id, 1)
    assert plan.record.record_id == record_id(raised.flag_id, 2)


def test_an_update_for_a_flag_nobody_was_told_about_alerts_now():
    plan = plan_for(flag(state="updated", revision=2), directory(), [], NOW)
    assert {d.channel for d in plan.deliveries} == {"mesh", "smtp"}


def test_a_review_flag_confirmed_by_an_update_alerts_the_gp_and_submits_a_record():
    review = flag(kind="review")
    earlier = [delivered(review, CNS_EMAIL, "smtp", purpose="review")]
    plan = plan_for(flag(state="updated", revision=2), directory(), earlier, NOW)
    assert [(d.channel, d.purpose) for d in plan.deliveries] == [
        ("mesh", "alert"),
        ("smtp", "alert"),
    ]
    assert plan.record is not None and plan.record.action == "submit"


def test_a_review_update_after_a_review_alert_sends_nothing():
    review = flag(kind="review")
    earlier = [delivered(review, CNS_EMAIL, "smtp", purpose="review")]
    plan = plan_for(flag(kind="review", state="updated", revision=2), directory(), earlier, NOW)
    assert plan.deliveries == () and plan.record is None


def test_a_retraction_sends_one_correction_to_each_recipient_alerted_and_withdraws():
    raised = flag()
    earlier = [delivered(raised, GP_MAILBOX, "mesh"), delivered(raised, CNS_EMAIL, "smtp")]
    plan = plan_for(flag(state="retracted", revision=2), directory(), earlier, NOW)
    assert [(d.channel, d.recipient, d.purpose) for d in plan.deliveries] == [
        ("mesh", GP_MAILBOX, "correction"),
        ("smtp", CNS_EMAIL, "correction"),
    ]
    assert [d.corrects for d in plan.deliveries] == [e.alert_id for e in earlier]
    assert plan.record is not None and plan.record.action == "withdraw"
    assert plan.record.supersedes == record_id(raised.flag_id, 1)


def test_a_retraction_goes_to_whoever_was_alerted_even_if_the_directory_changed():
    raised = flag()
    earlier = [delivered(raised, "X26OLD1", "mesh")]
    plan = plan_for(flag(state="retracted", revision=2), directory(), earlier, NOW)
    assert [d.recipient for d in plan.deliveries] == ["X26OLD1"]


def test_a_retraction_of_a_review_flag_corrects_the_cns_team_and_withdraws_nothing():
    review = flag(kind="review")
    earlier = [delivered(review, CNS_EMAIL, "smtp", purpose="review")]
    plan = plan_for(flag(kind="review", state="retracted", revision=2), directory(), earlier, NOW)
    assert [(d.channel, d.purpose) for d in plan.deliveries] == [("smtp", "correction")]
    assert plan.record is None


def test_a_retraction_does_not_correct_an_unroutable_gp_or_a_correction():
    raised = flag()
    earlier = [
        EarlierAlert("x", "mesh", "gp-practice:none", "unroutable"),
        delivered(raised, CNS_EMAIL, "smtp", purpose="correction"),
    ]
    plan = plan_for(flag(state="retracted", revision=3), directory(), earlier, NOW)
    assert plan.deliveries == ()


def test_an_unknown_practice_is_unroutable_and_the_cns_alert_says_the_gp_was_not_told():
    f = flag(patient=patient(gp_practice_ods="Z99999"))
    plan = plan_for(f, directory(), [], NOW)
    assert [(u.channel, u.recipient) for u in plan.unroutable] == [("mesh", "gp-practice:Z99999")]
    [cns] = plan.deliveries
    assert cns.channel == "smtp" and cns.gp_not_reachable
    assert "Z99999" in cns.gp_not_reachable
    assert plan.dead_letter_reasons == ()


def test_a_patient_without_a_registered_practice_is_unroutable_for_the_gp():
    plan = plan_for(flag(patient=patient(gp_practice_ods=None)), directory(), [], NOW)
    assert [u.recipient for u in plan.unroutable] == ["gp-practice:none"]
    assert (
        plan.deliveries[0].gp_not_reachable == "the patient has no registered GP practice on record"
    )


def test_an_unknown_trust_falls_back_to_the_regional_cns_team():
    fallback = {"name": "Regional CNS", "email": "regional@example.nhs.net"}
    plan = plan_for(
        flag(patient=patient(provider_ods="RZZ")), directory(fallback_cns_team=fallback), [], NOW
    )
    assert [d.recipient for d in plan.deliveries] == [GP_MAILBOX, "regional@example.nhs.net"]


def test_no_cns_team_at_all_is_unroutable_and_dead_lettered_never_dropped():
    plan = plan_for(flag(patient=patient(provider_ods="RZZ")), directory(), [], NOW)
    assert [u.channel for u in plan.unroutable] == ["smtp"]
    assert plan.dead_letter_reasons and "RZZ" in plan.dead_letter_reasons[0]
    assert [d.channel for d in plan.deliveries] == ["mesh"]


def test_directory_lookups_ignore_case_and_spaces():
    plan = plan_for(flag(patient=patient(gp_practice_ods=" a81001 ")), directory(), [], NOW)
    assert plan.deliveries[0].recipient == GP_MAILBOX


def test_the_example_directory_routes_a_practice_and_a_trust():
    from pathlib import Path

    from services.notifier.directory import load_directory

    example = load_directory(Path(__file__).parents[3] / "deploy" / "directory.example.json")
    assert example.gp_practice("A81001").mesh_mailbox == "X26ABC2"
    assert example.cns_team("RX1").email.endswith(".nhs.net")
