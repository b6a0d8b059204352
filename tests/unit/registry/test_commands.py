"""`rmbc cosd export` and `rmbc registry report` through the rmbc command."""

import pytest
from lxml import etree

from services.cli import main
from tests.unit.registry.records import three_patients


def test_rmbc_cosd_export_and_rmbc_registry_report_run_from_one_records_file(tmp_path, capsys):
    source = tmp_path / "records.jsonl"
    source.write_text("".join(r.model_dump_json() + "\n" for r in three_patients()))
    xml = tmp_path / "cosd.xml"
    assert (
        main(["cosd", "export", "--month", "2026-10", "--records", str(source), "--out", str(xml)])
        == 0
    )
    assert len(etree.parse(str(xml)).getroot().findall("{urn:rmbc:cosd:v10}COSDRecord")) == 3
    report = tmp_path / "report"
    assert main(["registry", "report", "--records", str(source), "--out", str(report)]) == 0
    assert f"registry report: {report / 'index.html'}" in capsys.readouterr().out
    assert (report / "by_month.csv").read_text().splitlines()[1:] == [
        "2026-09,0,0,1",
        "2026-10,1,1,0",
    ]


def test_a_month_that_is_not_a_month_is_refused_with_exit_status_2(tmp_path, capsys):
    out = tmp_path / "x.xml"
    argv = ["cosd", "export", "--month", "2026-13", "--records", str(tmp_path), "--out", str(out)]
    assert main(argv) == 2
    assert "rmbc cosd export:" in capsys.readouterr().err
    assert not out.exists()


def test_rmbc_registry_agree_is_a_command_of_rmbc_registry(capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["registry", "agree", "--help"])
    assert stopped.value.code == 0
    assert "rmbc.reviews.v1" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["registry", "--help"])
    assert "agree" in capsys.readouterr().out
