"""What trust integration engines send: HL72UK (v2.4) and older versions, test processing ids,
Z-segments and segments rmbc does not read, and an ACK addressed as the engine addressed rmbc."""

import pytest

from services.ingest.hl7.issues import MessageRejected
from services.ingest.hl7.mapping import map_message
from tests.unit.ingest import hl7_samples as s
from tests.unit.ingest.mllp_support import FakeAccepter, listener, msa, raw_client, segments


@pytest.mark.parametrize("version", ["2.3", "2.3.1", "2.4", "2.5", "2.5.1"])
def test_every_version_from_2_3_to_2_5_1_is_mapped(version: str) -> None:
    mapped = map_message(s.oru(header=s.msh(version=version)))
    assert [r["resourceType"] for r in mapped.resources] == ["Observation"]


def test_a_test_processing_id_is_refused_unless_the_deployment_accepts_it() -> None:
    message = s.oru(header=s.msh(processing="T"))
    with pytest.raises(MessageRejected) as refused:
        map_message(message)
    assert [i.location for i in refused.value.issues] == ["MSH^1^11"]
    assert "send P" in refused.value.issues[0].text
    accepted = map_message(message, processing_ids=frozenset({"P", "T"}))
    assert len(accepted.resources) == 1


def test_a_z_segment_is_named_with_severity_w_and_a_standard_unread_segment_with_i() -> None:
    message = s.oru(s.obx(), "NTE|1||reported by Dr X", "ZDS|1|local")
    with_pv1 = message.replace("\rOBR", "\rPV1|1|O\rOBR", 1)
    mapped = map_message(with_pv1)
    named = {n.location: (n.reason, n.as_issue().severity) for n in mapped.not_mapped}
    assert named == {
        "PV1^1": ("segment-not-read", "I"),
        "NTE^1": ("segment-not-read", "I"),
        "ZDS^1": ("z-segment", "W"),
    }


async def test_the_ack_names_unread_segments_counts_them_and_echoes_msh_5_and_6() -> None:
    header = s.msh(version="2.4").replace("|RMBC|RMBC|", "|CANCERALERT|RMBC01|")
    message = s.oru(s.obx(), "ZDS|1|local", header=header)
    async with listener(FakeAccepter()) as (port, metrics), raw_client(port) as client:
        ack = await client.request(message)
    assert msa(ack)[1] == "AA"
    msh = segments(ack)["MSH"][0]
    assert msh[2:6] == ["CANCERALERT", "RMBC01", "EPR", "RX1"]
    assert msh[11] == "2.4"
    [err] = segments(ack)["ERR"]
    assert (err[2], err[4]) == ("ZDS^1", "W")
    assert metrics.not_mapped.labels("z-segment")._value.get() == 1


async def test_the_listener_takes_t_when_configured_to() -> None:
    accepter = FakeAccepter()
    async with (
        listener(accepter, processing_ids=frozenset({"P", "T"})) as (port, _),
        raw_client(port) as client,
    ):
        ack = await client.request(s.oru(header=s.msh(processing="T")))
    assert msa(ack)[1] == "AA"
    assert segments(ack)["MSH"][0][10] == "T"
    assert len(accepter.calls) == 1


def test_the_processing_ids_setting_is_p_by_default_and_takes_a_list() -> None:
    from services.ingest.settings import IngestSettings

    assert IngestSettings().processing_ids() == frozenset({"P"})
    assert IngestSettings(hl7_processing_ids="P,T").processing_ids() == frozenset({"P", "T"})
