"""The HL7 v2 wing: MLLP framing, decoding, the profile mapped to FHIR, acknowledgements."""
