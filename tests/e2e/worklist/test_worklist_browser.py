"""The worklist in a real browser (Debian's chromium) against a real broker and OIDC provider:
a CNS acknowledges, an MDT coordinator confirms with another date, the reviews are on the topic,
and axe-core finds no serious or critical accessibility problem on any page."""

from collections.abc import Iterator
from datetime import date

import pytest
from playwright.sync_api import Browser, Page

from shared.settings import KafkaSettings
from tests.support.browser import chromium, serious_violations
from tests.support.worklist import (
    TRUST,
    Worklist,
    fresh_topics,
    put,
    reviews_on_topic,
    worklist_for_tests,
)
from tests.support.worklist_events import alert, flag

AGREED_DATE = date(2026, 11, 12)  # rmbc proposed 2026-11-20


@pytest.fixture(scope="module")
def worklist(
    tmp_path_factory: pytest.TempPathFactory, kafka_settings: KafkaSettings
) -> Iterator[Worklist]:
    topics = fresh_topics(kafka_settings)
    put(kafka_settings, topics.cancer_flags, flag("flag-w", trust=TRUST))
    put(kafka_settings, topics.alerts, alert("flag-w"), alert("flag-w", channel="mesh"))
    with worklist_for_tests(tmp_path_factory.mktemp("worklist"), kafka_settings, topics) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as running:
        yield running


def _sign_in(browser: Browser, worklist: Worklist, username: str, bypass_csp: bool = True) -> Page:
    user = worklist.user(username)
    context = browser.new_context(bypass_csp=bypass_csp)  # bypassed to inject axe-core
    page = context.new_page()
    page.goto(worklist.url)
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(user.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{worklist.url}/")
    return page


def test_a_cns_signs_in_and_acknowledges_with_a_key_worker(
    browser: Browser, worklist: Worklist, kafka_settings: KafkaSettings
) -> None:
    page = _sign_in(browser, worklist, "cns")
    assert serious_violations(page) == []
    page.get_by_role("link", name="Jo Smith").click()
    assert serious_violations(page) == []
    page.get_by_label("Key worker's name").fill("Ann Nurse")
    page.get_by_role("button", name="Save: acknowledged, key worker assigned").click()
    banner = page.get_by_role("alert").filter(has_text="Saved")
    assert "Acknowledged, key worker assigned" in banner.inner_text()
    assert "Key worker: Ann Nurse (Breast CNS)" in page.locator("table").first.inner_text()
    (review,) = reviews_on_topic(kafka_settings, worklist, 1)
    assert (review.action, review.reviewer.role, review.reviewer.trust_ods) == (
        "acknowledged", "cns", TRUST)  # fmt: skip
    page.context.close()


def test_an_mdt_coordinator_confirms_with_a_changed_date(
    browser: Browser, worklist: Worklist, kafka_settings: KafkaSettings
) -> None:
    page = _sign_in(browser, worklist, "mdt")
    page.get_by_role("link", name="Jo Smith").click()
    page.get_by_label("Clinically agreed episode date").fill(AGREED_DATE.isoformat())
    page.get_by_label("Liver").check()
    page.get_by_role("button", name="Save: confirmed by mdt").click()
    assert "Saved: Confirmed by MDT" in page.get_by_role("alert").first.inner_text()
    assert serious_violations(page) == []
    acknowledged, confirmed = reviews_on_topic(kafka_settings, worklist, 2)
    assert confirmed.action == "confirmed" and confirmed.agreed is not None
    assert confirmed.agreed.episode_date == AGREED_DATE
    assert confirmed.agreed.metastatic_sites == ["bone", "liver"]
    assert confirmed.previous_review_id == acknowledged.review_id
    page.get_by_role("link", name="Outcomes").click()
    assert "Recurrence" in page.locator("table").first.inner_text()
    assert serious_violations(page) == []
    page.context.close()


def test_the_pages_wear_the_nhs_design_system_under_their_content_security_policy(
    browser: Browser, worklist: Worklist
) -> None:
    page = _sign_in(browser, worklist, "viewer", bypass_csp=False)
    header = page.locator("header.nhsuk-header")
    nhs_blue = "rgb(0, 94, 184)"  # the NHS design system's header colour
    assert header.evaluate("e => getComputedStyle(e).backgroundColor") == nhs_blue
    page.get_by_role("link", name="Jo Smith").click()
    assert "Record an action" not in page.content()
    page.context.close()
