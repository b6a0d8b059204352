"""`rmbc registry report [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--records FILE] --out DIR`, and
`rmbc registry agree` (services/registry/agreement_loop.py)."""

import argparse
import importlib.util
import sys
from datetime import date
from pathlib import Path

from services.registry.figures import episodes_between
from services.registry.sources import read_records


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rmbc registry", description="the registry analyst's report")
    commands = p.add_subparsers(dest="command", required=True)
    report = commands.add_parser("report", help="HTML with plots, plus CSV")
    report.add_argument("--from", dest="start", type=date.fromisoformat, help="first episode date")
    report.add_argument("--to", dest="end", type=date.fromisoformat, help="last episode date")
    report.add_argument(
        "--records", type=Path, help="a JSONL file of v2 records instead of the registry topic"
    )
    report.add_argument("--out", type=Path, required=True, help="directory for the report")
    commands.add_parser(
        "agree", help="MDT decisions -> agreed registry records (runs until stopped)"
    )
    return p


def main(argv: list[str]) -> int:
    if argv[:1] == ["agree"]:
        from services.registry.agreement_loop import main as agree

        return agree(argv[1:])
    args = parser().parse_args(argv)
    try:
        records = read_records(args.records)
    except (ValueError, OSError) as error:
        print(f"rmbc registry report: {error}", file=sys.stderr)
        return 2
    missing = [m for m in ("lifelines", "matplotlib") if importlib.util.find_spec(m) is None]
    if missing:
        print(
            f"rmbc registry report: needs {', '.join(missing)}: pip install 'rmbc[report]'",
            file=sys.stderr,
        )
        return 2
    from services.registry.report import write_report  # matplotlib only when a report is made

    page = write_report(episodes_between(records, args.start, args.end), args.out)
    print(f"registry report: {page}")
    return 0
