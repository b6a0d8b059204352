"""Events crafted to stop the classifier (issue 26), sent ahead of a normal patient's events to one
running worker on the real broker: each crafted event is classified or dead-lettered with its
reason, the worker never stops, and the normal patient's flag arrives behind them."""

from services.demo.stack import ManagedProcess
from shared.codec import decode_as, encode
from shared.events import CancerFlag, ClinicalEvent, DeadLetter
from shared.settings import KafkaSettings
from shared.topics import TopicNames
from tests.integration.poison.conftest import http_get
from tests.integration.poison.test_classifier_poison import bone_recurrence
from tests.scenarios.build import DISEASE_STATUS, ICD, Case
from tests.support.kafka import produce, read_all, read_topic
from tests.unit.classifier.events import clinical_event

KAFKA_MESSAGE_LIMIT = 1_048_576  # the broker's and producer's default largest message
LARGEST_VERSION_ID = "9" * 64  # a FHIR id holds at most 64 characters


def events_of(case: Case) -> list[ClinicalEvent]:
    return [clinical_event(r, case.nhs) for r in case.resources if r["resourceType"] != "Patient"]


def huge_version_id() -> Case:
    """A bone secondary whose meta.versionId is 2^64: state encoding failed, the restart replayed
    it, for ever."""
    case = Case(901).patient().remitted_primary()
    return case.condition("met", (ICD, "C79.5"), "2021-04-02", version=int(LARGEST_VERSION_ID))


def codes_with_300_000_digits() -> Case:
    """Secondaries coded "C79.5" and the like followed by 300,000 digits: each matched, each was
    copied into the flag and the state, and the fourth made both larger than a Kafka record."""
    case = Case(902).patient().remitted_primary()
    for number, code in enumerate(("C79.5", "C78.7", "C79.3", "C78.0")):
        case.condition(f"met{number}", (ICD, code + "0" * 300_000), "2021-04-02")
    return case


def last_updated_in_year_one() -> Case:
    """meta.lastUpdated 0001-01-01T00:00:00+14:00 is before year 1 in UTC: it was dead-lettered
    (a missed alert)."""
    case = Case(903).patient().remitted_primary()
    return case.condition("met", (ICD, "C79.5"), "2021-04-02", updated="0001-01-01T00:00:00+14:00")


def findings_with_long_systems() -> Case:
    """Two M1 findings whose value's coding system is a SNOMED CT edition URI of 450,000
    characters (read as SNOMED CT, as senders' edition URIs are): copied into the evidence, the
    flag would outgrow the message limit."""
    case = Case(904).patient().primary("2021-01-10")
    for number, day in ((1, "2021-01-20"), (2, "2021-01-21")):
        case.observation(f"m{number}", DISEASE_STATUS, "1229903009", day)
        case.resources[-1]["code"]["coding"][0] = {
            "system": "http://snomed.info/sct",
            "code": "399387003",
        }
        case.resources[-1]["valueCodeableConcept"]["coding"][0]["system"] = (
            "http://snomed.info/sct/" + "9" * 450_000
        )
    return case


async def test_crafted_events_are_classified_and_the_next_patients_flag_still_arrives(
    kafka_settings: KafkaSettings, topics: TopicNames, classifier: ManagedProcess
) -> None:
    crafted = [
        huge_version_id(),
        codes_with_300_000_digits(),
        last_updated_in_year_one(),
        findings_with_long_systems(),
    ]
    for case in crafted:
        for event in events_of(case):
            await produce(kafka_settings, topics.clinical_events, encode(event), case.nhs.encode())
    nhs, normal = bone_recurrence()
    for event in normal:
        await produce(kafka_settings, topics.clinical_events, encode(event), nhs.encode())

    def normal_flag_arrived(records: list) -> bool:  # type: ignore[type-arg]
        return any(r.key == nhs.encode() for r in records)

    records = await read_topic(
        kafka_settings, topics.cancer_flags, until=normal_flag_arrived, timeout=60
    )
    assert classifier.running
    assert max(len(r.value) for r in records) < KAFKA_MESSAGE_LIMIT
    flags = {r.key.decode(): decode_as(r.value, CancerFlag) for r in records}
    big_version, long_code, year_one, long_systems = crafted

    flag = flags[big_version.nhs]
    assert (flag.state, flag.kind, flag.metastatic_sites) == ("raised", "recurrence", ["bone"])
    assert f"_history/{LARGEST_VERSION_ID}" in {e.reference.split("/", 2)[2] for e in flag.evidence}

    assert long_code.nhs not in flags  # not ICD-10 codes, so no secondary: nothing to flag

    flag = flags[year_one.nhs]
    assert (flag.kind, str(flag.episode_date)) == ("recurrence", "2021-04-02")

    flag = flags[long_systems.nhs]
    assert flag.kind == "de_novo_metastatic"
    assert all(len(e.system or "") <= 256 for e in flag.evidence)

    assert flags[nhs].kind == "recurrence"
    dead = [
        decode_as(r.value, DeadLetter) for r in await read_all(kafka_settings, topics.dead_letter)
    ]
    assert dead == []


async def test_the_classifier_web_port_serves_health_readiness_and_metrics_and_nothing_else(
    kafka_settings: KafkaSettings,
    topics: TopicNames,
    classifier: ManagedProcess,
    classifier_port: int,
) -> None:
    nhs, events = bone_recurrence()
    for event in events:
        await produce(kafka_settings, topics.clinical_events, encode(event), nhs.encode())
    await read_topic(kafka_settings, topics.cancer_flags, until=bool, timeout=30)
    base = f"http://127.0.0.1:{classifier_port}"
    for path in ("/healthz", "/readyz", "/metrics"):
        assert http_get(base + path)[0] == 200, path
    for path in (
        f"/table/patients/{nhs}/",
        "/table/patients/",
        "/table/",
        "/router/",
        f"/router/patients/{nhs}/",
        "/",
        "/stats/",
        "/graph/",
        "/performance/",
        f"/{nhs}",
    ):
        status, body = http_get(base + path)
        assert status == 404, (path, status)
        assert nhs.encode() not in body and b"patients" not in body and b"table" not in body, path
