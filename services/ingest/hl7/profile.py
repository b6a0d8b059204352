"""What the rmbc HL7 v2 profile takes (docs/hl7v2-profile.md): message types and their events,
versions, processing ids, the segments read per type, and the code systems of coded fields.
"""

SUPPORTED_EVENTS: dict[str, frozenset[str]] = {
    "ADT": frozenset({"A01", "A04", "A08", "A28", "A31"}),
    "PPR": frozenset({"PC1"}),
    "ORU": frozenset({"R01"}),
}
SUPPORTED_VERSIONS = frozenset({"2.3", "2.3.1", "2.4", "2.5", "2.5.1"})
DEFAULT_PROCESSING_IDS = frozenset({"P"})  # T (training/test) and D only where configured
KNOWN_PROCESSING_IDS = frozenset({"P", "T", "D"})  # HL7 table 0103
# the segments rmbc reads, by message type; any other is named in the ACK (W for a Z-segment,
# I for a standard one) and counted, never dropped silently
READ_SEGMENTS: dict[str, frozenset[str]] = {
    "ADT": frozenset({"MSH", "PID", "PD1"}),
    "PPR": frozenset({"MSH", "PID", "PD1", "PRB"}),
    "ORU": frozenset({"MSH", "PID", "PD1", "ORC", "OBR", "OBX"}),
}

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
CODE_SYSTEMS = {"LN": LOINC, "SCT": SNOMED, "SNOMEDCT": SNOMED, "I10": ICD10, "ICD10": ICD10}
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
