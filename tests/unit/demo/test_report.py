from services.demo.report import agreement, percentiles, render_text


def test_agreement_counts_true_and_false_positives_and_misses_per_kind() -> None:
    truth = {
        "a": {"recurrence": True, "metastatic": True, "de_novo_metastatic": False},
        "b": {"recurrence": True, "metastatic": False, "de_novo_metastatic": False},
        "c": {"recurrence": False, "metastatic": False, "de_novo_metastatic": False},
    }
    predicted = {"a": {"recurrence": True, "metastatic": True}, "c": {"recurrence": True}}
    result = agreement(truth, predicted)
    assert result["recurrence"] == {
        "sensitivity": 0.5, "ppv": 0.5, "true_positives": 1, "false_positives": 1,
        "false_negatives": 1,
    }  # fmt: skip
    assert result["metastatic"]["sensitivity"] == 1.0 and result["metastatic"]["ppv"] == 1.0
    assert result["de_novo_metastatic"]["sensitivity"] is None  # no positives: undefined, not 1.0


def test_percentiles_pick_the_nearest_rank_and_say_none_without_samples() -> None:
    assert percentiles(range(1, 101)) == {"p50": 51, "p95": 96, "p99": 100}
    assert percentiles([]) == {"p50": None, "p95": None, "p99": None}


def test_the_text_summary_names_every_headline_figure() -> None:
    summary = {
        "accepted": 10, "rejected": 2, "rejected_by_reason": {"http 422": 2},
        "flags": {"recurrence": 3}, "flag_events": 4, "gp_letters": 3, "cns_emails": 3,
        "registry_records": 3, "lost": 0,
        "latency_ms": {"p50": 1.0, "p95": 2.0, "p99": 3.0},
        "truth": agreement({"a": {"recurrence": True}}, {"a": {"recurrence": True}}),
        "output_dir": "/tmp/out",
    }  # fmt: skip
    text = render_text(summary)
    for expected in ("http 422", "GP letters in MESH       3", "lost                     0",
                     "p99 3.0 ms", "sensitivity 1.0", "/tmp/out"):  # fmt: skip
        assert expected in text
