"""`rmbc cosd export --month YYYY-MM [--agreed-only] [--xsd PATH] [--records FILE] --out FILE`.

Writes the month's COSD v10 XML only when it validates against the repo's schema (and the trust's
official XSD when given); records lacking a mandatory item are held back and listed by item."""

import argparse
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from services.registry.cosd_xml import (
    InvalidCosdXml,
    cosd_document,
    load_schema,
    serialise,
    validate,
)
from services.registry.monthly import month_bounds, records_for_month
from services.registry.sources import read_records
from services.registry.standing import split_standing


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rmbc cosd", description="COSD v10 XML for NDRS")
    commands = p.add_subparsers(dest="command", required=True)
    export = commands.add_parser("export", help="write one month's COSD XML")
    export.add_argument("--month", required=True, help="YYYY-MM: records recorded in this month")
    export.add_argument("--agreed-only", action="store_true", help="only MDT-agreed records")
    export.add_argument("--xsd", type=Path, help="also validate against this (official) XSD")
    export.add_argument(
        "--records", type=Path, help="a JSONL file of v2 records instead of the registry topic"
    )
    export.add_argument("--out", type=Path, required=True)
    return p


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    try:
        period = month_bounds(args.month)
        records = read_records(args.records)
    except (ValueError, OSError) as error:
        print(f"rmbc cosd export: {error}", file=sys.stderr)
        return 2
    chosen = records_for_month(records, args.month, agreed_only=args.agreed_only)
    complete = [r for r in chosen if not r.incomplete_items]
    held_back = [r for r in chosen if r.incomplete_items]
    document = cosd_document(complete, period, datetime.now(UTC))
    try:
        validate(document, load_schema())
        if args.xsd is not None:
            validate(document, load_schema(args.xsd))
    except InvalidCosdXml as error:
        print(f"rmbc cosd export: not written, the XML does not validate: {error}", file=sys.stderr)
        return 1
    partial = args.out.with_name(args.out.name + ".partial")
    partial.write_bytes(serialise(document))
    os.replace(partial, args.out)
    print(f"{args.out}: {len(complete)} COSD records for {args.month}")
    for record in held_back:
        print(f"held back {record.record_id}: missing {', '.join(record.incomplete_items)}")
    for record in split_standing(records)[1]:
        if period[0] <= record.recorded_at.date() <= period[1]:
            print(f"held for the MDT {record.record_id}: rmbc's rules revised an agreed episode")
    return 0
