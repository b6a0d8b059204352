"""HL7 v2.5.1 messages in the rmbc profile, built with one field changed at a time."""

NHS = "9434765919"
BAD_NHS = "9434765918"


def msh(
    kind: str = "ORU^R01^ORU_R01",
    control_id: str = "MSG0001",
    *,
    version: str = "2.5.1",
    processing: str = "P",
    stamp: str = "20250314103000",
    facility: str = "RX1",
    charset: str = "UNICODE UTF-8",
    accept_ack: str = "AL",
) -> str:
    return (
        f"MSH|^~\\&|EPR|{facility}|RMBC|RMBC|{stamp}||{kind}|{control_id}|{processing}|{version}"
        f"|||{accept_ack}|NE||{charset}"
    )


def pid(
    nhs: str = NHS, *, birth: str = "19700101", name: str = "BRONTË^ZOË", sex: str = "F"
) -> str:
    return f"PID|1||{nhs}^^^NHS^NH~L123^^^RX1^MR||{name}||{birth}|{sex}"


def obx(
    set_id: str = "1",
    code: str = "97509-4^Cancer disease status^LN",
    value: str = "271299001^Worsened^SCT",
    status: str = "F",
    date: str = "202503141000",
    value_type: str = "CWE",
) -> str:
    return f"OBX|{set_id}|{value_type}|{code}||{value}||||||{status}|||{date}"


def prb(
    action: str = "AD",
    action_date: str = "20250314",
    code: str = "C79.5^Secondary malignant neoplasm of bone^I10",
    instance: str = "P42",
    confirmation: str = "confirmed",
    life_cycle: str = "active",
    onset: str = "20250301",
) -> str:
    return (
        f"PRB|{action}|{action_date}|{code}|{instance}|||||||||{confirmation}|{life_cycle}||{onset}"
    )


def oru(*observations: str, header: str | None = None, patient: str | None = None) -> str:
    return "\r".join(
        [
            header or msh(),
            patient or pid(),
            "OBR|1||R1|24627-2^Chest CT^LN|||20250314",
            *(observations or (obx(),)),
        ]
    )


def ppr(*problems: str, header: str | None = None, patient: str | None = None) -> str:
    return "\r".join([header or msh("PPR^PC1^PPR_PC1"), patient or pid(), *(problems or (prb(),))])


def adt(event: str = "A08", *, patient: str | None = None, header: str | None = None) -> str:
    return "\r".join(
        [
            header or msh(f"ADT^{event}^ADT_A01"),
            patient or pid(),
            "PD1|||Brook Surgery^^Y01234",
        ]
    )
