"""The shared Kafka security settings reach faust, which takes them in its own form."""

import faust
from pydantic import SecretStr

from services.classifier.stream.faust_app import broker_credentials
from shared.settings import KafkaSettings


def test_plaintext_needs_no_credentials() -> None:
    assert broker_credentials(KafkaSettings()) is None


def test_sasl_settings_become_faust_sasl_credentials() -> None:
    kafka = KafkaSettings(
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username="classifier",
        sasl_password=SecretStr("s3cret-value"),
    )
    credentials = broker_credentials(kafka)
    assert isinstance(credentials, faust.SASLCredentials)
    assert (credentials.username, credentials.password) == ("classifier", "s3cret-value")
    assert str(credentials.mechanism.value) == "SCRAM-SHA-512"
