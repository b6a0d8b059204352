"""`rmbc cosd export`: the month's records, amendments resubmitted later, nothing unvalidated written."""

from pathlib import Path

from lxml import etree

from services.registry import cosd_cli
from services.registry.monthly import records_for_month
from tests.unit.registry.records import NOVEMBER, OCTOBER, record, three_patients

NS = "{urn:rmbc:cosd:v10}"


def jsonl(path: Path, records) -> Path:
    path.write_text("".join(r.model_dump_json() + "\n" for r in records))
    return path


def test_an_episode_amended_next_month_is_resubmitted_in_next_months_file_under_its_record_id():
    first = record(now=OCTOBER)
    amended = record(now=NOVEMBER, action="amend", revision=2, metastatic_sites=["lung"])
    october = records_for_month([first, amended], "2026-10")
    november = records_for_month([first, amended], "2026-11")
    assert october == [first]
    assert november == [amended]
    assert first.flag_id == amended.flag_id


def test_within_a_month_only_the_episodes_latest_version_goes():
    first = record(now=OCTOBER)
    amended = record(now=OCTOBER.replace(day=28), action="amend", revision=2)
    assert records_for_month([amended, first], "2026-10") == [amended]


def test_agreed_only_leaves_out_records_still_proposed_by_rules():
    proposed = record()
    agreed = record(key="9434765803").model_copy(update={"provenance": "agreed"})
    assert records_for_month([proposed, agreed], "2026-10", agreed_only=True) == [agreed]


def test_export_writes_valid_xml_and_holds_back_an_incomplete_record_by_item(tmp_path, capsys):
    incomplete = record(key="9434765811", patient_overrides={"nhs_number_status": None})
    source = jsonl(tmp_path / "records.jsonl", [*three_patients(), incomplete])
    out = tmp_path / "cosd-2026-10.xml"
    status = cosd_cli.main(
        ["export", "--month", "2026-10", "--records", str(source), "--out", str(out)]
    )
    assert status == 0
    root = etree.parse(str(out)).getroot()
    assert root.findtext(f"{NS}Header/{NS}RecordCount") == "3"
    assert incomplete.flag_id not in [e.text for e in root.iter(f"{NS}RecordId")]
    assert f"held back {incomplete.record_id}: missing CR1350" in capsys.readouterr().out


def test_export_writes_nothing_when_the_official_xsd_rejects_the_document(tmp_path, capsys):
    official = tmp_path / "official.xsd"
    official.write_text(
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:element name="Other"/></xs:schema>'
    )
    source = jsonl(tmp_path / "records.jsonl", three_patients())
    out = tmp_path / "cosd.xml"
    argv = ["export", "--month", "2026-10", "--records", str(source), "--xsd", str(official)]
    assert cosd_cli.main([*argv, "--out", str(out)]) == 1
    assert not out.exists()
    assert "does not validate" in capsys.readouterr().err


def test_an_unreadable_line_is_named_with_its_file_and_line(tmp_path, capsys):
    source = tmp_path / "records.jsonl"
    source.write_text(three_patients()[0].model_dump_json() + '\n{"event_type": 1}\n')
    status = cosd_cli.main(
        ["export", "--month", "2026-10", "--records", str(source), "--out", str(tmp_path / "x.xml")]
    )
    assert status == 2
    assert f"{source}:2: not a v2 registry record" in capsys.readouterr().err
