"""COSD v10 XML: built with lxml, validated against the repo's schema, compared semantically."""

import itertools
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from lxml import etree

from services.registry.cosd_xml import (
    InvalidCosdXml,
    cosd_document,
    load_schema,
    serialise,
    validate,
)
from services.registry.monthly import month_bounds
from tests.unit.registry.records import record, three_patients

EXPECTED = Path(__file__).parent / "expected-three-patients.xml"
CREATED = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
OCTOBER = month_bounds("2026-10")
SITES = ["bone", "brain", "liver", "lung", "skin", "distant_lymph_nodes", "bone_marrow", "other"]


def shape(element: etree._Element) -> tuple[object, ...]:
    """Tag, text and children, whitespace and comments aside: what the XML means."""
    children = [c for c in element if isinstance(c.tag, str)]
    text = (element.text or "").strip() if not children else ""
    return (etree.QName(element).localname, text, tuple(shape(c) for c in children))


def test_the_three_patients_xml_means_what_the_hand_written_file_says():
    records = three_patients()
    built = cosd_document(records, OCTOBER, CREATED)
    labels = dict(
        zip((r.flag_id for r in records), ["RECURRENCE", "PROGRESSION", "DE_NOVO"], strict=True)
    )
    for record_id in built.getroot().iter("{urn:rmbc:cosd:v10}RecordId"):
        record_id.text = labels[record_id.text]
    expected = etree.parse(str(EXPECTED))
    assert shape(built.getroot()) == shape(expected.getroot())


def test_the_hand_written_expectation_is_itself_valid_against_the_schema():
    validate(etree.parse(str(EXPECTED)), load_schema())


def test_a_generated_cohort_of_every_kind_site_and_identifier_validates():
    records = []
    for number, (kind, site, local_only) in enumerate(
        itertools.product(
            ["recurrence", "metastatic_progression", "de_novo_metastatic"], SITES, [False, True]
        )
    ):
        overrides = {"local_identifier": f"mrn|L{number:05d}"} if local_only else {}
        r = record(
            kind=kind,
            key=f"{9000000000 + number}",
            metastatic_sites=[site],
            patient_overrides=overrides,
        )
        if local_only:
            r = r.model_copy(update={"cr0010_nhs_number": None})
        records.append(r)
    records.append(record(recurrence_types=["local"], metastatic_sites=[]))
    records.append(record(recurrence_types=["regional"], metastatic_sites=["regional_lymph_nodes"]))
    records.append(record(action="withdraw"))
    document = cosd_document(records, OCTOBER, CREATED)
    validate(document, load_schema())
    assert document.getroot().findtext(
        "{urn:rmbc:cosd:v10}Header/{urn:rmbc:cosd:v10}RecordCount"
    ) == str(len(records))
    statuses = [e.text for e in document.getroot().iter("{urn:rmbc:cosd:v10}RecordStatus")]
    assert statuses.count("withdrawn") == 1


def test_an_unknown_item_is_left_out_of_the_xml_not_written_as_a_code():
    document = cosd_document([record()], OCTOBER, CREATED)
    text = serialise(document).decode()
    assert "RelapseMethodOfDetection" not in text
    assert "PalliativeCareSpecialistSeenIndicatorCancerRecurrence" not in text


def test_a_record_missing_its_birth_date_does_not_validate_and_the_error_names_the_item():
    incomplete = record(patient_overrides={"birth_date": None})
    assert incomplete.incomplete_items == ["CR0100"]
    with pytest.raises(InvalidCosdXml, match="PersonBirthDate"):
        validate(cosd_document([incomplete], OCTOBER, CREATED), load_schema())


def test_the_periods_last_day_is_the_months_last_day():
    assert month_bounds("2024-02") == (date(2024, 2, 1), date(2024, 2, 29))
    assert month_bounds("2026-12") == (date(2026, 12, 1), date(2026, 12, 31))
