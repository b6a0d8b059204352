"""The CapabilityStatement claims only what ingest does."""

from services.ingest.fhir.capability import capability_statement


def test_the_capability_statement_does_not_claim_oauth_for_static_bearer_tokens() -> None:
    statement = capability_statement(max_body_bytes=1000, max_bundle_entries=10)
    [rest] = statement["rest"]
    assert "service" not in rest["security"]
    assert "not OAuth" in rest["security"]["description"]
    assert [o["name"] for o in rest["operation"]] == ["process-message"]
