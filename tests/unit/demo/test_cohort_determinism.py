from datetime import date

from services.demo.cohort import generate_cohort


def test_the_same_seed_and_base_date_give_the_same_bytes() -> None:
    first, second = generate_cohort(60, seed=11), generate_cohort(60, seed=11)
    assert [d.body for d in first.deliveries] == [d.body for d in second.deliveries]
    assert first.truth == second.truth


def test_another_seed_gives_another_cohort() -> None:
    first, second = generate_cohort(60, seed=11), generate_cohort(60, seed=12)
    assert [d.body for d in first.deliveries] != [d.body for d in second.deliveries]


def test_every_delivery_is_sent_before_the_base_date() -> None:
    base = date(2025, 6, 1)
    cohort = generate_cohort(80, seed=3, base_date=base)
    assert max(d.sent_at for d in cohort.deliveries).date() < base


def test_deliveries_are_in_send_order_and_numbered_in_it() -> None:
    cohort = generate_cohort(80, seed=5)
    assert [d.index for d in cohort.deliveries] == list(range(len(cohort.deliveries)))
    sent = [d.sent_at for d in cohort.deliveries]
    assert sent == sorted(sent)


def test_a_thousand_patients_make_over_five_thousand_resource_versions() -> None:
    cohort = generate_cohort(1000)
    versions = sum(
        d.body.count(b'"versionId"') if d.channel == "http" else 1
        for d in cohort.deliveries
        if d.expect == "accepted"
    )
    assert len(cohort.truth) == 1000
    assert versions > 5000
