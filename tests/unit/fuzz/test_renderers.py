"""The notifier's renderers (GP letter and its FHIR Communication, CNS e-mail, registry record, MIME
headers) for any flag the classifier can emit: whatever the text in it, nothing raises, every
document reads back whole and content stays content.

What the classifier can emit: text copied from a resource is cut to `bounds.MAX_TEXT` characters
(codes, systems, demographics), references are FHIR ids, dates run from year 1 to 9999, and the
flag's own words (kinds, sites, rules) come from fixed sets. The strategy is wider where it costs
nothing: any Unicode scalar value, control characters included.
"""

from datetime import UTC, date, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.classifier.bounds import MAX_TEXT
from shared.events import CancerFlag, Evidence, PatientContext, PrimaryTumour, stable_id
from tests.unit.fuzz.downstream import render_everything
from tests.unit.fuzz.strategies import fhir_ids
from tests.unit.notifier.factory import GP_ODS, TRUST_ODS

RENDERERS = settings(
    max_examples=200,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

any_text = st.text(st.characters(blacklist_categories=["Cs"]), max_size=MAX_TEXT)
awkward = st.sampled_from(
    [
        "",
        " ",
        "\r\n",
        "\u2028",
        "\x00",
        "\x1b[2J",
        "<script>x</script>",
        "]]>",
        "--",
        "=?utf-8?q?x?=",
    ]
)
copied_text = any_text | awkward | st.just("x" * MAX_TEXT)
ods = st.sampled_from([GP_ODS, TRUST_ODS, GP_ODS.lower() + " "]) | copied_text
dates = st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31))
RULES = [
    "1: breast primary",
    "3: secondary, distant",
    "5: status flip to recurrence",
    "7: M1 category",
    "1: corrected record",
]
SITES = ["bone", "brain", "liver", "lung", "skin", "distant_lymph_nodes", "bone_marrow",
         "regional_lymph_nodes", "other", "unknown"]  # fmt: skip


@st.composite
def evidence(draw: st.DrawFn) -> Evidence:
    kind = draw(st.sampled_from(["Condition", "Observation"]))
    return Evidence(
        reference=f"{kind}/{draw(fhir_ids)}/_history/{draw(fhir_ids)}",
        rule=draw(st.sampled_from(RULES)),
        system=draw(st.none() | copied_text),
        code=draw(st.none() | copied_text),
        display=draw(st.none() | copied_text),
        date=draw(st.none() | dates),
    )


@st.composite
def flags(draw: st.DrawFn) -> CancerFlag:
    key = draw(st.sampled_from(["9434765919", "https://trust.example.nhs.uk/mrn|MRN-1"]))
    episode = draw(st.integers(1, 50))
    revision = draw(st.integers(1, 10_000))
    flag_id = stable_id("flag", key, str(episode))
    kinds = ["recurrence", "de_novo_metastatic", "metastatic_progression", "review"]
    kind = draw(st.sampled_from(kinds))
    patient: dict[str, Any] = {
        "nhs_number": draw(st.none() | st.just("9434765919")),
        "nhs_number_status": draw(st.none() | copied_text),
        "local_identifier": draw(st.none() | copied_text),
        "family_name": draw(st.none() | copied_text),
        "given_names": draw(st.none() | copied_text),
        "birth_date": draw(st.none() | dates),
        "gp_practice_ods": draw(st.none() | ods),
        "provider_ods": draw(st.none() | ods),
    }
    primary = draw(
        st.none()
        | st.builds(
            PrimaryTumour,
            icd10=st.none() | copied_text,
            snomed=st.none() | copied_text,
            laterality=st.none() | st.sampled_from(["left", "right", "bilateral"]),
            diagnosis_date=st.none() | dates,
            reference=st.none() | copied_text,
        )
    )
    return CancerFlag(
        event_id=stable_id("cancer-flag", flag_id, str(revision)),
        occurred_at=datetime(2026, 3, 1, tzinfo=UTC),
        recorded_at=datetime(2026, 3, 1, tzinfo=UTC),
        source="classifier",
        correlation_id=draw(copied_text),
        flag_id=flag_id,
        patient_key=key,
        episode=episode,
        state=draw(st.sampled_from(["raised", "updated", "retracted"])),
        revision=revision,
        kind=kind,
        needs_review=kind == "review",
        review_reason=draw(st.none() | copied_text),
        recurrence=kind == "recurrence",
        recurrence_types=draw(
            st.lists(st.sampled_from(["local", "regional", "distant"]), unique=True)
        ),
        metastatic=kind != "review",
        de_novo_metastatic=kind == "de_novo_metastatic",
        metastatic_sites=draw(st.lists(st.sampled_from(SITES), unique=True)),
        episode_date=draw(st.none() | dates),
        primary=primary,
        patient=PatientContext(**patient),
        evidence=draw(st.lists(evidence(), max_size=40)),
        reason=draw(st.none() | copied_text),
    )


@RENDERERS
@given(flag=flags())
def test_every_document_for_any_flag_renders_and_reads_back_whole(flag: CancerFlag) -> None:
    render_everything(flag)
