"""The registry analyst's report: its figures checked against records whose answers are known."""

import csv
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from services.registry.figures import completeness, episodes_between
from services.registry.report import write_registry_outputs, write_report
from services.registry.sources import records_from_jsonl
from shared.events import PrimaryTumour
from tests.unit.registry.records import record


def cohort():
    """Three recurrences 400, 800 and 1200 days after diagnosis, one progression, one de novo,
    one episode withdrawn, one record lacking CR0100; each recorded 10 days after its evidence."""

    def at(day: date) -> datetime:
        return datetime.combine(day, time(), tzinfo=UTC) + timedelta(days=10)

    made = []
    for n, (days, key) in enumerate(
        [(400, "9434765803"), (800, "9434765811"), (1200, "9434765838")]
    ):
        diagnosed = date(2023, 1, 1)
        episode = date.fromordinal(diagnosed.toordinal() + days)
        made.append(
            record(
                key=key,
                now=at(episode),
                episode_date=episode,
                metastatic_sites=["bone"] if n else ["liver", "lung"],
                primary=PrimaryTumour(icd10="C50.1", diagnosis_date=diagnosed),
                patient_overrides={"birth_date": None} if n == 2 else None,
            )
        )
    made.append(record(kind="metastatic_progression", key="9434765846", now=at(date(2026, 10, 1))))
    made.append(
        record(
            kind="de_novo_metastatic",
            key="9434765854",
            now=at(date(2026, 10, 1)),
            metastatic_sites=["brain"],
        )
    )
    made.append(record(key="9434765862", now=at(date(2026, 10, 1)), action="withdraw"))
    return made


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_withdrawn_episodes_are_not_counted_and_completeness_names_the_missing_item():
    episodes = episodes_between(cohort(), None, None)
    assert len(episodes) == 5
    c = completeness(episodes)
    assert (c.records, c.complete, c.agreed) == (5, 4, 0)
    assert c.missing_by_item == {"CR0100": 1}


def test_the_report_counts_episodes_by_month_and_kind(tmp_path):
    write_report(episodes_between(cohort(), None, None), tmp_path)
    table = {r["month"]: r for r in rows(tmp_path / "by_month.csv")}
    assert table["2024-02"]["recurrence"] == "1"  # 2023-01-01 + 400 days
    assert table["2026-10"]["progression"] == "1"
    assert table["2026-10"]["de novo"] == "1"
    assert sum(int(r["recurrence"]) for r in table.values()) == 3


def test_the_kaplan_meier_curve_steps_down_a_third_at_each_recurrence(tmp_path):
    write_report(episodes_between(cohort(), None, None), tmp_path)
    curve = [
        (float(r["years"]), float(r["proportion_not_recurred"]))
        for r in rows(tmp_path / "recurrence_free_km.csv")
    ]
    assert curve == [
        (0.0, 1.0),
        (round(400 / 365.25, 4), round(2 / 3, 6)),
        (round(800 / 365.25, 4), round(1 / 3, 6)),
        (round(1200 / 365.25, 4), 0.0),
    ]


def test_evidence_to_record_is_measured_for_every_episode(tmp_path):
    write_report(episodes_between(cohort(), None, None), tmp_path)
    assert [float(r["days"]) for r in rows(tmp_path / "evidence_to_record.csv")] == [10.0] * 5


def test_sites_count_each_site_of_an_episode_and_the_page_shows_every_plot(tmp_path):
    page = write_report(episodes_between(cohort(), None, None), tmp_path)
    sites = {
        (r["kind"], r["value"]): int(r["episodes"])
        for r in rows(tmp_path / "by_site_and_type.csv")
        if r["measure"] == "site"
    }
    assert sites[("recurrence", "bone")] == 2
    assert sites[("recurrence", "liver")] == 1
    assert sites[("de novo", "brain")] == 1
    text = page.read_text()
    for image in (
        "by_month.png",
        "by_site.png",
        "recurrence_free_km.png",
        "evidence_to_record.png",
        "completeness.png",
    ):
        assert f'src="{image}"' in text
        assert (tmp_path / image).read_bytes().startswith(b"\x89PNG")


def test_the_period_keeps_only_episodes_dated_within_it():
    episodes = episodes_between(cohort(), date(2026, 1, 1), date(2026, 12, 31))
    assert sorted(e.kind for e in episodes) == ["de novo", "progression", "recurrence"]


def test_the_demo_keeps_the_records_it_reported_on_beside_the_report(tmp_path):
    records = cohort()
    page = write_registry_outputs(records, tmp_path)
    assert page == tmp_path / "report" / "index.html" and page.exists()
    kept = list(records_from_jsonl(tmp_path / "records.v2.jsonl"))
    assert kept == records
