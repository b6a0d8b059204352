"""The mutual-TLS allow-list: a certificate speaks only for the facilities and clients listed."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from services.ingest.peers import PeerAllowList, UnusableAllowList, subject_name
from services.ingest.settings import IngestSettings

ALLOW = b'{"tie.rx1": {"facilities": ["RX1"], "clients": ["token-0a1b2c3d"]}}'


def test_a_listed_certificate_speaks_only_for_its_facilities_and_clients() -> None:
    peers = PeerAllowList.from_json(ALLOW)
    assert peers.may_send_for("tie.rx1", "RX1")
    assert not peers.may_send_for("tie.rx1", "RX2")
    assert peers.may_act_as("tie.rx1", "token-0a1b2c3d")
    assert not peers.may_act_as("tie.rx1", "token-ffffffff")


def test_an_unlisted_or_absent_certificate_speaks_for_nothing() -> None:
    peers = PeerAllowList.from_json(ALLOW)
    assert not peers.may_send_for("tie.rx2", "RX1")
    assert not peers.may_send_for(None, "RX1")
    assert not peers.may_act_as(None, "token-0a1b2c3d")


@pytest.mark.parametrize(
    "data",
    [b"[]", b"{not json", b'{"a": {"facilities": "RX1"}}', b'{"a": {"sites": []}}',
     b'{"a": {"clients": [""]}}'],
)  # fmt: skip
def test_an_allow_list_of_another_shape_is_refused_with_the_reason(data: bytes) -> None:
    with pytest.raises(UnusableAllowList):
        PeerAllowList.from_json(data)


def test_the_subject_common_name_is_read_from_the_peer_certificate() -> None:
    peercert = {"subject": ((("countryName", "GB"),), (("commonName", "tie.rx1"),))}
    assert subject_name(peercert) == "tie.rx1"
    assert subject_name(None) is None
    assert subject_name({"subject": ((("organizationName", "NHS"),),)}) is None


def test_a_client_ca_without_an_allow_list_does_not_start(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    with pytest.raises(ValidationError, match="go together"):
        IngestSettings(tls_client_ca_file=ca)
