"""Pure summaries of a demo run: agreement with the generator's truth, latency percentiles, the text."""

from collections.abc import Iterable, Mapping
from typing import Any

TRUTH_KINDS = ("recurrence", "metastatic", "de_novo_metastatic")


def agreement(
    truth: Mapping[str, Mapping[str, Any]], predicted: Mapping[str, Mapping[str, Any]]
) -> dict[str, dict[str, float | int | None]]:
    """Per kind: sensitivity and PPV of the predicted patient-level booleans against the truth."""
    result: dict[str, dict[str, float | int | None]] = {}
    for kind in TRUTH_KINDS:
        tp = fp = fn = 0
        for patient, expected in truth.items():
            actual = bool(predicted.get(patient, {}).get(kind, False))
            wanted = bool(expected.get(kind, False))
            tp += actual and wanted
            fp += actual and not wanted
            fn += wanted and not actual
        result[kind] = {
            "sensitivity": round(tp / (tp + fn), 4) if tp + fn else None,
            "ppv": round(tp / (tp + fp), 4) if tp + fp else None,
            "true_positives": tp,
            "false_positives": fp,
            "false_negatives": fn,
        }
    return result


def percentiles(samples_ms: Iterable[float]) -> dict[str, float | None]:
    ordered = sorted(samples_ms)
    if not ordered:
        return {"p50": None, "p95": None, "p99": None}

    def at(fraction: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(fraction * len(ordered)))], 1)

    return {"p50": at(0.50), "p95": at(0.95), "p99": at(0.99)}


def render_text(summary: Mapping[str, Any]) -> str:
    lines = [
        "",
        "rmbc demo - what came out",
        "=" * 60,
        f"events accepted          {summary['accepted']}",
        f"events rejected          {summary['rejected']}",
    ]
    lines += [f"  {reason:<22} {count}" for reason, count in summary["rejected_by_reason"].items()]
    lines.append("flags (current, by kind)")
    lines += [f"  {kind:<22} {count}" for kind, count in summary["flags"].items()]
    lines += [
        f"flag changes emitted     {summary['flag_events']}",
        f"GP letters in MESH       {summary['gp_letters']}",
        f"CNS e-mails captured     {summary['cns_emails']}",
        f"registry records         {summary['registry_records']}",
        f"lost                     {summary['lost']}",
    ]
    latency = summary["latency_ms"]
    lines.append(
        "latency 2xx -> registry  "
        f"p50 {latency['p50']} ms, p95 {latency['p95']} ms, p99 {latency['p99']} ms"
    )
    lines.append("agreement with the generator's truth")
    for kind, figures in summary["truth"].items():
        lines.append(
            f"  {kind:<22} sensitivity {figures['sensitivity']}, PPV {figures['ppv']} "
            f"(TP {figures['true_positives']}, FP {figures['false_positives']}, "
            f"FN {figures['false_negatives']})"
        )
    if "registry_report" in summary:
        lines.append(f"registry report          {summary['registry_report']}")
    lines += ["", f"look here: {summary['output_dir']}", ""]
    return "\n".join(lines)
