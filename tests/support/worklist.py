"""The worklist as tests run it: the real `rmbc worklist` process against a real broker and the
real local OIDC provider, events put on its topics, and a person signing in over plain HTTP."""

import asyncio
import re
import secrets
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx

from services.demo.sign_in import DemoUser, demo_users
from services.demo.worklist import RunningWorklist as Worklist
from services.demo.worklist import running_worklist
from shared.codec import decode, encode
from shared.events import Envelope, ReviewEvent
from shared.settings import KafkaSettings
from shared.topics import TopicNames
from tests.support.kafka import create_topics, produce, read_topic

T = TypeVar("T")
TRUST = "RX1"
OTHER_TRUST = "RX2"


def run(work: Coroutine[Any, Any, T]) -> T:
    """`work` run to its end on a thread of its own: the browser tests' Playwright keeps an event
    loop running on the test's thread, where asyncio.run would refuse."""
    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(asyncio.run, work).result()


def fresh_topics(kafka: KafkaSettings) -> TopicNames:
    names = TopicNames.with_suffix(secrets.token_hex(5))
    run(create_topics(kafka, names.all(), partitions=3))
    return names


def reviews_on_topic(kafka: KafkaSettings, worklist: Worklist, count: int) -> list[ReviewEvent]:
    """The reviews on the worklist's topic, once there are at least `count` (20 s deadline)."""
    records = run(
        read_topic(kafka, worklist.topics.reviews, until=lambda r: len(r) >= count, timeout=20)
    )
    return [e for e in (decode(r.value) for r in records) if isinstance(e, ReviewEvent)]


def put(kafka: KafkaSettings, topic: str, *events: Envelope) -> None:
    """Events on a topic, each acknowledged by the broker, keyed as their producers key them."""

    async def send() -> None:
        for event in events:
            key = getattr(event, "patient_key", None) or getattr(event, "flag_id", None)
            await produce(kafka, topic, encode(event), key=str(key).encode())

    run(send())


@contextmanager
def worklist_for_tests(
    directory: Path, kafka: KafkaSettings, topics: TopicNames, env: dict[str, str] | None = None
) -> Iterator[Worklist]:
    """The worklist with a CNS, an MDT coordinator and a viewer of TRUST, and a CNS of OTHER_TRUST."""
    other = DemoUser("other", secrets.token_urlsafe(9), "Olu Other", "cns", (OTHER_TRUST,))
    users = (*demo_users((TRUST,)), other)
    with running_worklist(directory, kafka, topics, users, env=env) as worklist:
        yield worklist


@contextmanager
def signed_in(worklist: Worklist, username: str) -> Iterator[httpx.Client]:
    """A browser-like HTTP client that went through the provider's sign-in form as `username`."""
    user = worklist.user(username)
    with httpx.Client(base_url=worklist.url, follow_redirects=True, timeout=15) as client:
        page = client.get("/auth/login")
        action = re.search(r'action="([^"]+)"', page.text)
        assert action, f"no sign-in form at {page.url}"
        done = client.post(
            str(page.url.join(action.group(1))),
            data={"username": user.username, "password": user.password},
        )
        assert done.url.path == "/", f"sign-in ended at {done.url.path} ({done.status_code})"
        yield client


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no CSRF token"
    return found.group(1)


def item_link(html: str) -> str:
    found = re.search(r'href="(/items/[^"]+)"', html)
    assert found, "the list has no item"
    return found.group(1)
