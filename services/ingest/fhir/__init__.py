"""The FHIR wing: the HTTP API, its server limits, Bundles, OperationOutcomes, authentication."""
