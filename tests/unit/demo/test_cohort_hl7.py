"""HL7 v2 deliveries parse with python-hl7 and follow the rmbc profile field by field."""

import hl7

from services.demo.cohort import GP_PRACTICES, TRUSTS, UNROUTABLE_GP_PRACTICES, Cohort
from shared.nhs_number import is_valid_nhs_number

CONFIRMATION = {
    "confirmed",
    "unconfirmed",
    "provisional",
    "differential",
    "refuted",
    "entered-in-error",
}
LIFE_CYCLE = {"", "active", "recurrence", "relapse", "inactive", "remission", "resolved"}
MAPPED_OBX_CODES = {"97509-4", "399387003", "371497001", "21907-1", "21901-4", "29308-4"}


def accepted_messages(cohort: Cohort) -> list[hl7.Message]:
    return [
        hl7.parse(d.body.decode("utf-8"))
        for d in cohort.deliveries
        if d.channel == "mllp" and d.expect == "accepted"
    ]


def test_every_accepted_hl7_message_has_the_profile_header(cohort: Cohort) -> None:
    messages = accepted_messages(cohort)
    assert messages
    for message in messages:
        msh = message.segment("MSH")
        assert str(msh[4]) in TRUSTS
        assert (str(msh[5]), str(msh[6])) == ("RMBC", "RMBC")
        assert len(str(msh[7])) == 14 and str(msh[7]).isdigit()
        assert (str(msh[11]), str(msh[12]), str(msh[18])) == ("P", "2.5.1", "UNICODE UTF-8")
        assert str(msh[9]) in {
            "ADT^A04^ADT_A01", "ADT^A08^ADT_A01", "ADT^A31^ADT_A01", "ADT^A28^ADT_A01",
            "PPR^PC1^PPR_PC1", "ORU^R01^ORU_R01",
        }  # fmt: skip


def test_control_ids_are_unique_except_for_deliberate_resends(cohort: Cohort) -> None:
    by_control: dict[str, bytes] = {}
    for delivery in cohort.deliveries:
        if delivery.channel == "mllp" and delivery.expect == "accepted":
            control = str(hl7.parse(delivery.body.decode()).segment("MSH")[10])
            assert by_control.setdefault(control, delivery.body) == delivery.body


def test_pid_carries_a_valid_nhs_number_and_a_local_identifier(cohort: Cohort) -> None:
    for message in accepted_messages(cohort):
        pid = message.segment("PID")
        nhs, local = pid[3][0], pid[3][1]
        assert (str(nhs[3]), str(nhs[4])) == ("NHS", "NH")
        assert is_valid_nhs_number(str(nhs[0])) and str(nhs[0]) in cohort.truth
        assert str(local[4]) == "MR" and str(local[3]) in TRUSTS
        assert len(str(pid[7])) == 8 and str(pid[8]) in {"F", "M"}


def test_adt_names_the_gp_practice_in_pd1_3(cohort: Cohort) -> None:
    practices = {**GP_PRACTICES, **UNROUTABLE_GP_PRACTICES}
    adts = [m for m in accepted_messages(cohort) if str(m.segment("MSH")[9]).startswith("ADT")]
    assert adts
    for message in adts:
        practice = message.segment("PD1")[3][0]
        assert str(practice[2]) in practices and str(practice[0]) == practices[str(practice[2])]


def test_prb_segments_follow_the_profile(cohort: Cohort) -> None:
    segments = [
        m.segment("PRB")
        for m in accepted_messages(cohort)
        if str(m.segment("MSH")[9]).startswith("PPR")
    ]
    assert segments
    for prb in segments:
        assert str(prb[1]) in {"AD", "UP", "DE"}
        assert len(str(prb[2])) == 14
        assert str(prb[3][0][2]) in {"I10", "SCT"}
        assert str(prb[4]).startswith("PRB")
        assert str(prb[13]) in CONFIRMATION
        assert str(prb[14]) in LIFE_CYCLE
        assert (str(prb[1]) == "DE") == (str(prb[13]) == "entered-in-error")
    assert {str(p[14]) for p in segments} >= {"active", "recurrence", "remission"}


def test_oru_results_use_the_profile_codes_or_one_unmapped_result(cohort: Cohort) -> None:
    orus = [m for m in accepted_messages(cohort) if str(m.segment("MSH")[9]).startswith("ORU")]
    unmapped = 0
    for message in orus:
        for obx in message.segments("OBX"):
            code = str(obx[3][0][0])
            if code not in MAPPED_OBX_CODES:
                unmapped += 1
                continue
            assert str(obx[2]) == "CWE"
            assert str(obx[11]) in {"F", "C", "P", "W", "D"}
            assert len(str(obx[14])) in (8, 12)
    assert orus and unmapped > 0


def test_non_ascii_names_survive_as_utf8(cohort: Cohort) -> None:
    bodies = [d.body for d in cohort.deliveries if d.channel == "mllp"]
    assert any(not body.isascii() for body in bodies)
    assert all(body.decode("utf-8") for body in bodies)
