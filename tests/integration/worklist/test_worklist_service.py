"""The worklist service against a real broker and a real OIDC provider: sign-in, trusts, actions
saved only once Kafka has them, no silent overwrite, and a view rebuilt from the topics."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.settings import KafkaSettings
from tests.support.worklist import (
    OTHER_TRUST,
    TRUST,
    Worklist,
    csrf_of,
    fresh_topics,
    item_link,
    put,
    reviews_on_topic,
    signed_in,
    worklist_for_tests,
)
from tests.support.worklist_events import alert, flag


@pytest.fixture(scope="module")
def worklist(
    tmp_path_factory: pytest.TempPathFactory, kafka_settings: KafkaSettings
) -> Iterator[Worklist]:
    topics = fresh_topics(kafka_settings)
    put(kafka_settings, topics.cancer_flags, flag("flag-a", trust=TRUST),
        flag("flag-b", trust=OTHER_TRUST, kind="de_novo_metastatic", sites=("liver",)))  # fmt: skip
    put(kafka_settings, topics.alerts, alert("flag-a"), alert("flag-a", channel="mesh"))
    with worklist_for_tests(tmp_path_factory.mktemp("worklist"), kafka_settings, topics) as running:
        yield running


def _form(page: httpx.Response, **fields: Any) -> dict[str, Any]:
    seen = page.text.split('name="seen_review_id" value="', 1)[1].split('"', 1)[0]
    return {"csrf_token": csrf_of(page.text), "seen_review_id": seen, "seen_revision": "1",
            **fields}  # fmt: skip


def test_every_page_sends_a_stranger_to_sign_in_first(worklist: Worklist) -> None:
    with httpx.Client(base_url=worklist.url) as stranger:
        for path in ("/", "/outcomes", "/items/anything"):
            response = stranger.get(path)
            assert response.status_code == 303, path
            assert response.headers["location"] == "/auth/login"
        assert stranger.post("/items/anything/acknowledged").status_code == 303


def test_a_user_sees_only_their_trusts_items(worklist: Worklist) -> None:
    with signed_in(worklist, "cns") as cns, signed_in(worklist, "other") as other:
        mine = cns.get("/")
        assert "Recurrent breast cancer" in mine.text
        assert "Metastatic breast cancer at diagnosis" not in mine.text
        theirs = other.get("/")
        assert "Metastatic breast cancer at diagnosis" in theirs.text
        assert other.get(item_link(mine.text)).status_code == 404


def test_no_patient_identifier_is_in_an_item_address(worklist: Worklist) -> None:
    with signed_in(worklist, "viewer") as viewer:
        link = item_link(viewer.get("/").text)
        assert "9434765919" not in link and "flag-a" not in link
        page = viewer.get(link)
        assert page.status_code == 200 and "9434765919" in page.text  # shown, never addressed


def test_the_session_cookie_is_http_only_and_same_site_lax(worklist: Worklist) -> None:
    with httpx.Client(base_url=worklist.url) as fresh:
        cookie = fresh.get("/auth/login").headers["set-cookie"].lower()
        assert cookie.startswith("rmbc_worklist=")
        assert "httponly" in cookie and "samesite=lax" in cookie


def test_a_read_only_user_gets_no_forms_and_cannot_act(worklist: Worklist) -> None:
    with signed_in(worklist, "viewer") as viewer:
        link = item_link(viewer.get("/").text)
        page = viewer.get(link)
        assert "Record an action" not in page.text
        data = {"csrf_token": csrf_of(page.text), "seen_review_id": "", "seen_revision": "1",
                "key_worker_name": "Rae", "key_worker_role": "CNS"}  # fmt: skip
        refused = viewer.post(f"{link}/acknowledged", data=data)
        assert refused.status_code == 422 and "cannot record this" in refused.text


def test_a_form_without_the_csrf_token_records_nothing(worklist: Worklist) -> None:
    with signed_in(worklist, "cns") as cns:
        link = item_link(cns.get("/").text)
        data = {"seen_review_id": "", "key_worker_name": "Ann", "key_worker_role": "CNS"}
        assert cns.post(f"{link}/acknowledged", data=data).status_code == 403
        assert "No one has acted on this yet" in cns.get(link).text


def test_an_acknowledgement_is_saved_on_the_topic_and_a_stale_page_is_refused(
    worklist: Worklist, kafka_settings: KafkaSettings
) -> None:
    with signed_in(worklist, "cns") as first, signed_in(worklist, "cns") as second:
        link = item_link(first.get("/").text)
        first_page, second_page = first.get(link), second.get(link)
        saved = first.post(f"{link}/acknowledged", data=_form(
            first_page, key_worker_name="Ann Nurse", key_worker_role="Breast CNS"))  # fmt: skip
        assert saved.status_code == 200 and "Saved: Acknowledged" in saved.text
        (review,) = reviews_on_topic(kafka_settings, worklist, 1)
        assert review.action == "acknowledged" and review.previous_review_id is None
        assert review.reviewer.name == "Ann Nurse" and review.reviewer.trust_ods == TRUST
        assert review.key_worker is not None and review.key_worker.role == "Breast CNS"

        stale = second.post(f"{link}/patient_contacted",
                            data=_form(second_page, contacted_on="2026-12-02"))  # fmt: skip
        assert stale.status_code == 409
        assert "Someone else acted on this; here is what they did" in stale.text
        assert "Key worker: Ann Nurse (Breast CNS)" in stale.text
        assert len(reviews_on_topic(kafka_settings, worklist, 1)) == 1

        fresh = second.post(f"{link}/patient_contacted",
                            data=_form(stale, contacted_on="2026-12-02"))  # fmt: skip
        assert fresh.status_code == 200 and "Saved: Patient contacted" in fresh.text
        contacted = reviews_on_topic(kafka_settings, worklist, 2)[-1]
        assert contacted.previous_review_id == review.review_id


def test_a_restarted_worklist_rebuilds_its_view_from_the_topics(worklist: Worklist) -> None:
    with signed_in(worklist, "cns") as cns:
        link = item_link(cns.get("/").text)
        before = cns.get(link).text.count('<tr class="nhsuk-table__row">')
    worklist.process.stop()
    worklist.process.start(timeout=60)
    with signed_in(worklist, "cns") as cns:
        page = cns.get(link)  # the same opaque address after a restart
        assert page.status_code == 200
        assert page.text.count('<tr class="nhsuk-table__row">') == before
        assert "Key worker: Ann Nurse (Breast CNS)" in page.text


def test_outcomes_and_metrics_count_the_trusts_items(worklist: Worklist) -> None:
    with signed_in(worklist, "mdt") as mdt:
        assert "Alerts acknowledged in time" in mdt.get("/outcomes").text
    text = httpx.get(f"{worklist.url}/metrics").text
    assert f'rmbc_worklist_open_overdue{{trust="{OTHER_TRUST}"}}' in text
    assert "9434765919" not in text


def test_the_worklist_log_names_no_patient(worklist: Worklist) -> None:
    log = Path(worklist.process.log_file).read_text()
    assert "review saved" in log
    for identifier in ("9434765919", "Smith", "flag-a"):
        assert identifier not in log
