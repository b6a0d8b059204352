"""Ingest: clinical data in, one acknowledged clinical event per resource out.

The core is the accepter (`ports.Accepter`, `accepter.py`, pure decisions in `acceptance.py`,
resource validation in `validation.py`), with its two wings, the edges that call it through
`accept`: `fhir/` (the FHIR R4 HTTP API) and `hl7/` (HL7 v2 over MLLP, mapped to FHIR resources).
`main.py` builds it all once; the wings import the core, never each other.
"""
