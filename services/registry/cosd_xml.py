"""COSD v10 XML for a month's records, built with lxml and validated before anyone writes it.

Structure: one `COSDRecord` per episode, the patient's linkage items first, then either the primary
pathway (de novo metastatic disease: CR0370, CR2030, CR6960/CR6970 pairs) or the non-primary pathway
(CR6500, then a recurrence with CR7100, CR6520/CR1590 pairs, CR1550, CR9000, or a progression with
CR6900 and its pairs), as the COSD v10 user guide splits the pathways. Items and value sets:
Health-Informatics-UoN/nuh-data `schemas/datasets/cosd/cosd.yaml`; the schema kept here is
`schema/rmbc-cosd-v10.xsd`, whose header cites its sources."""

from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path

from lxml import etree

from shared.events import (
    ProgressionItems,
    RecurrenceItems,
    RecurrenceMetastasis,
    RegistryRecordV2,
)

NAMESPACE = "urn:rmbc:cosd:v10"
SCHEMA_PATH = Path(__file__).parent / "schema" / "rmbc-cosd-v10.xsd"


class InvalidCosdXml(ValueError):
    """The document does not validate: nothing is written."""


def _q(name: str) -> str:
    return f"{{{NAMESPACE}}}{name}"


def _add(parent: etree._Element, name: str, value: object | None) -> None:
    """A child element for a value that is known; an unknown item is left out, never filled."""
    if value is None:
        return
    text = value.isoformat() if isinstance(value, date) else str(value)
    etree.SubElement(parent, _q(name)).text = text


def cosd_document(
    records: Sequence[RegistryRecordV2], period: tuple[date, date], created_at: datetime
) -> etree._ElementTree:
    root = etree.Element(_q("COSD"), nsmap={None: NAMESPACE})
    header = etree.SubElement(root, _q("Header"))
    _add(header, "ReportingPeriodStartDate", period[0])
    _add(header, "ReportingPeriodEndDate", period[1])
    _add(header, "FileCreationDateTime", created_at.isoformat(timespec="seconds"))
    _add(header, "RecordCount", len(records))
    for record in records:
        root.append(_cosd_record(record))
    return etree.ElementTree(root)


def _cosd_record(record: RegistryRecordV2) -> etree._Element:
    element = etree.Element(_q("COSDRecord"))
    _add(element, "RecordId", record.flag_id)
    _add(element, "RecordStatus", "withdrawn" if record.action == "withdraw" else "current")
    _add(element, "Provenance", record.provenance)
    linkage = etree.SubElement(element, _q("LinkagePatientId"))
    _add(linkage, "NHSNumber", record.cr0010_nhs_number)
    _add(linkage, "LocalPatientIdentifier", record.cr0020_local_patient_identifier)
    _add(linkage, "NHSNumberStatusIndicatorCode", record.cr1350_nhs_number_status)
    _add(linkage, "PersonBirthDate", record.cr0100_birth_date)
    _add(linkage, "OrganisationIdentifierCodeOfProvider", record.cr0030_provider_ods)
    _add(element, "GeneralMedicalPracticeCodePatientRegistration", record.cr0120_gp_practice_ods)
    if record.primary is not None:
        primary = etree.SubElement(element, _q("PrimaryPathway"))
        _add(primary, "PrimaryDiagnosisICD", record.primary.cr0370_primary_diagnosis_icd)
        _add(
            primary,
            "DateOfPrimaryCancerDiagnosisClinicallyAgreed",
            record.primary.cr2030_primary_diagnosis_date,
        )
        for at_diagnosis in record.primary.metastases_at_diagnosis:
            _pair(
                primary,
                "MetastaticDiseaseAtDiagnosis",
                at_diagnosis.cr6960_metastatic_type,
                at_diagnosis.cr6970_metastatic_site,
            )
    else:
        _non_primary(element, record.recurrence or record.progression)
    return element


def _non_primary(parent: etree._Element, items: RecurrenceItems | ProgressionItems | None) -> None:
    pathway = etree.SubElement(parent, _q("NonPrimaryPathway"))
    if items is None:
        return
    _add(
        pathway,
        "DateOfNonPrimaryCancerDiagnosisClinicallyAgreed",
        items.cr6500_non_primary_diagnosis_date,
    )
    if isinstance(items, RecurrenceItems):
        recurrence = etree.SubElement(pathway, _q("Recurrence"))
        _add(recurrence, "OriginalPrimaryDiagnosisICD", items.cr7100_original_primary_icd)
        _pairs(recurrence, items.metastases)
        _add(
            recurrence,
            "PalliativeCareSpecialistSeenIndicatorCancerRecurrence",
            items.cr1550_palliative_care_seen,
        )
        _add(recurrence, "RelapseMethodOfDetection", items.cr9000_relapse_method)
    else:
        progression = etree.SubElement(pathway, _q("Progression"))
        _add(progression, "ProgressionICD", items.cr6900_progression_icd)
        _pairs(progression, items.metastases)


def _pairs(parent: etree._Element, pairs: Sequence[RecurrenceMetastasis]) -> None:
    for pair in pairs:
        _pair(parent, "Metastasis", pair.cr6520_metastatic_type, pair.cr1590_metastatic_site)


def _pair(parent: etree._Element, name: str, metastatic_type: str, site: str) -> None:
    element = etree.SubElement(parent, _q(name))
    _add(element, "MetastaticType", metastatic_type)
    _add(element, "MetastaticSite", site)


def load_schema(path: Path = SCHEMA_PATH) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(path)))


def validate(document: etree._ElementTree, schema: etree.XMLSchema) -> None:
    """Raise InvalidCosdXml naming each error's line and message."""
    if not schema.validate(document):
        errors = "; ".join(f"line {e.line}: {e.message}" for e in schema.error_log)
        raise InvalidCosdXml(errors)


def serialise(document: etree._ElementTree) -> bytes:
    text: bytes = etree.tostring(
        document, xml_declaration=True, encoding="UTF-8", pretty_print=True
    )
    return text
