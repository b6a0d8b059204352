"""The CapabilityStatement: exactly what this server does, no more."""

from typing import Any

from services.ingest.fhir.request_body import BUNDLE_TYPES
from services.ingest.validation import CLINICAL_TYPES


def capability_statement(
    *, max_body_bytes: int, max_bundle_entries: int, oauth: bool = False
) -> dict[str, Any]:
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-11-26",
        "kind": "instance",
        "software": {"name": "rmbc ingest"},
        "implementation": {
            "description": (
                "Write-only FHIR R4 intake: every accepted resource is published to Kafka "
                "(acks=all) before the answer. Nothing is stored for reading back."
            )
        },
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "application/json"],
        "rest": [
            {
                "mode": "server",
                "documentation": (
                    f"Bodies up to {max_body_bytes} bytes; Bundles up to {max_bundle_entries} "
                    f"entries of type {', '.join(BUNDLE_TYPES)}. NHS numbers must pass the "
                    "modulus-11 check and lie in a range issued to patients (the 999 test range "
                    "only on a test deployment); Scottish CHI and Northern Ireland H&C numbers "
                    "go under their own identifier systems."
                ),
                "security": _security(oauth),
                "resource": [
                    {
                        "type": resource_type,
                        "interaction": [{"code": "create"}, {"code": "update"}],
                        "versioning": "versioned",
                        "readHistory": False,
                        "updateCreate": True,
                    }
                    for resource_type in CLINICAL_TYPES
                ],
                "interaction": [{"code": "batch"}, {"code": "transaction"}],
                "operation": [
                    {
                        "name": "process-message",
                        "definition": "http://hl7.org/fhir/OperationDefinition/MessageHeader-process-message",
                    }
                ],
            }
        ],
    }


def _security(oauth: bool) -> dict[str, Any]:
    """OAuth only when access tokens are verified as OAuth 2.0 JWTs; static development tokens
    are not OAuth and claim no restful-security-service code."""
    if not oauth:
        return {
            "description": (
                "Authorization: Bearer <token> on every data endpoint; static tokens issued to "
                "each sending system by the deployment (development mode, not OAuth 2.0)."
            )
        }
    return {
        "service": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                        "code": "OAuth",
                    }
                ],
                "text": "OAuth 2.0 client credentials, JWT access tokens",
            }
        ],
        "description": (
            "Authorization: Bearer <JWT access token> from the deployment's authorisation server "
            "(client credentials grant; private_key_jwt client authentication as in SMART Backend "
            "Services). Verified: signature against the issuer's JWKS, issuer, audience, expiry. "
            "Writing a resource type T needs the scope system/T.write (or system/*.write)."
        ),
    }
