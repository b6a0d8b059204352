"""The registry analyst's report: CSV tables, PNG plots (matplotlib, Agg) and one HTML page.

Recurrence-free interval: Kaplan-Meier estimate from lifelines over the days from the original
primary diagnosis to the recurrence. The registry holds only patients whose cancer came back, so every
interval is an observed event: the curve describes when recurrences happened among those who
recurred, not recurrence-free survival of all patients (that needs the disease-free follow-up)."""

import csv
import html
from collections.abc import Callable, Mapping
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display; lifelines draws through matplotlib too

from lifelines import KaplanMeierFitter
from matplotlib.figure import Figure

from services.registry.figures import (
    Episode,
    by_month_and_kind,
    by_site,
    by_type,
    completeness,
    episodes_between,
)
from shared.events import RegistryRecordV2

KINDS = ("recurrence", "progression", "de novo")
KM_NOTE = (
    "The registry holds only patients whose cancer came back: the Kaplan-Meier curve shows when "
    "recurrences happened among them, not recurrence-free survival of every patient."
)


def write_registry_outputs(records: list[RegistryRecordV2], out: Path) -> Path:
    """The records as JSONL (what `--records` reads) and the report over all of them."""
    out.mkdir(parents=True, exist_ok=True)
    lines = "".join(record.model_dump_json() + "\n" for record in records)
    (out / "records.v2.jsonl").write_text(lines, encoding="utf-8")
    return write_report(episodes_between(records, None, None), out / "report")


def write_report(episodes: list[Episode], out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    sections = [
        _monthly(episodes, out),
        _sites_and_types(episodes, out),
        _recurrence_free(episodes, out),
        _evidence_to_record(episodes, out),
        _completeness(episodes, out),
    ]
    page = out / "index.html"
    page.write_text(_page(sections), encoding="utf-8")
    return page


def _csv(path: Path, header: list[str], rows: list[list[object]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


def _save(figure: Figure, path: Path) -> None:
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def _stacked_by_kind(
    categories: list[str],
    counts: Mapping[tuple[str, str], int],
    draw: Callable[..., object],
    offset: str,
) -> None:
    """One bar per category, stacked by kind: `counts[(category, kind)]`."""
    base = [0] * len(categories)
    for kind in KINDS:
        sizes = [counts.get((c, kind), 0) for c in categories]
        draw(categories, sizes, **{offset: base, "label": kind})
        base = [b + n for b, n in zip(base, sizes, strict=True)]


def _monthly(episodes: list[Episode], out: Path) -> tuple[str, str, str]:
    counts = by_month_and_kind(episodes)
    months = sorted({m for m, _ in counts})
    _csv(
        out / "by_month.csv",
        ["month", *KINDS],
        [[m, *(counts[(m, k)] for k in KINDS)] for m in months],
    )
    figure = Figure(figsize=(8, 4))
    axes = figure.subplots()
    _stacked_by_kind(months, counts, axes.bar, "bottom")
    axes.set_ylabel("episodes")
    axes.set_title("Recurrence, progression and de novo metastatic disease by month")
    axes.legend()
    axes.tick_params(axis="x", labelrotation=45)
    _save(figure, out / "by_month.png")
    return ("Episodes by month", "by_month.png", "by_month.csv")


def _sites_and_types(episodes: list[Episode], out: Path) -> tuple[str, str, str]:
    sites, types = by_site(episodes), by_type(episodes)
    _csv(
        out / "by_site_and_type.csv",
        ["kind", "measure", "value", "episodes"],
        [[k, "site", s, n] for (k, s), n in sorted(sites.items())]
        + [[k, "type", t, n] for (k, t), n in sorted(types.items())],
    )
    names = sorted({s for _, s in sites})
    figure = Figure(figsize=(8, 4))
    axes = figure.subplots()
    _stacked_by_kind(names, {(s, k): n for (k, s), n in sites.items()}, axes.barh, "left")
    axes.set_xlabel("episodes with this metastatic site")
    axes.set_title("Metastatic sites (COSD CR1590 / CR6970)")
    axes.legend()
    _save(figure, out / "by_site.png")
    return ("Metastatic sites and types", "by_site.png", "by_site_and_type.csv")


def _recurrence_free(episodes: list[Episode], out: Path) -> tuple[str, str, str]:
    days = [e.recurrence_free_days for e in episodes if e.recurrence_free_days is not None]
    figure = Figure(figsize=(8, 4))
    axes = figure.subplots()
    rows: list[list[object]] = []
    if days:
        fitter = KaplanMeierFitter().fit([d / 365.25 for d in days], [1] * len(days))
        fitter.plot_survival_function(ax=axes, label="recurrence-free (among those who recurred)")
        table = fitter.survival_function_
        rows = [
            [round(float(t), 4), round(float(s), 6)]
            for t, s in zip(table.index, table.iloc[:, 0], strict=True)
        ]
    axes.set_xlabel("years from primary diagnosis")
    axes.set_ylabel("proportion not yet recurred")
    axes.set_title(f"Recurrence-free interval, Kaplan-Meier (n={len(days)})")
    _csv(out / "recurrence_free_km.csv", ["years", "proportion_not_recurred"], rows)
    _save(figure, out / "recurrence_free_km.png")
    return (
        "Time from primary diagnosis to recurrence",
        "recurrence_free_km.png",
        "recurrence_free_km.csv",
    )


def _evidence_to_record(episodes: list[Episode], out: Path) -> tuple[str, str, str]:
    days = sorted(e.evidence_to_record_days for e in episodes)
    _csv(out / "evidence_to_record.csv", ["days"], [[round(d, 3)] for d in days])
    figure = Figure(figsize=(8, 4))
    axes = figure.subplots()
    axes.hist(days, bins=20)
    axes.set_xlabel("days from the evidence in the hospital record to the registry record")
    axes.set_ylabel("episodes")
    axes.set_title("Evidence to registry record")
    _save(figure, out / "evidence_to_record.png")
    return ("Evidence to registry record", "evidence_to_record.png", "evidence_to_record.csv")


def _completeness(episodes: list[Episode], out: Path) -> tuple[str, str, str]:
    c = completeness(episodes)
    rows: list[list[object]] = [
        ["records", c.records],
        ["complete (every mandatory item)", c.complete],
        ["agreed at MDT", c.agreed],
    ] + [[f"missing {item}", n] for item, n in c.missing_by_item.items()]
    _csv(out / "completeness.csv", ["measure", "records"], rows)
    figure = Figure(figsize=(8, 3))
    axes = figure.subplots()
    total = max(c.records, 1)
    axes.barh(["complete", "MDT-agreed"], [c.complete / total * 100, c.agreed / total * 100])
    axes.set_xlim(0, 100)
    axes.set_xlabel("% of records")
    axes.set_title("Completeness and agreement")
    _save(figure, out / "completeness.png")
    return ("Completeness", "completeness.png", "completeness.csv")


def _page(sections: list[tuple[str, str, str]]) -> str:
    body = "\n".join(
        f'<section><h2>{html.escape(title)}</h2><img src="{image}" alt="{html.escape(title)}">'
        f'<p><a href="{table}">{table}</a></p></section>'
        for title, image, table in sections
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        "<title>rmbc registry report</title></head><body><h1>Registry report</h1>"
        f"<p>{html.escape(KM_NOTE)}</p>{body}</body></html>\n"
    )
