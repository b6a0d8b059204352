"""`rmbc worklist`: the composition root. Builds settings and adapters, rebuilds the view from the
topics, then serves the pages (only once the view has caught up with what Kafka held at start)."""

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import logging
import signal
import uuid
from datetime import UTC, datetime

import httpx
import uvicorn

from services.worklist.desk import Desk
from services.worklist.follower import Follower
from services.worklist.oidc import OidcClient
from services.worklist.overdue import acknowledgement_due, england_and_wales_bank_holidays
from services.worklist.publisher import KafkaReviews
from services.worklist.settings import WorklistSettings, env_help
from services.worklist.web import create_app
from shared.logs import configure_logging
from shared.settings import KafkaSettings
from shared.topics import TopicNames

log = logging.getLogger("services.worklist")


def build_desk(settings: WorklistSettings, reviews: KafkaReviews) -> Desk:
    holidays = england_and_wales_bank_holidays()
    days = settings.acknowledge_within_working_days
    secret = settings.session_secret.get_secret_value().encode()
    return Desk(
        key=hmac.new(secret, b"rmbc worklist item ids", hashlib.sha256).digest(),
        sink=reviews,
        due=lambda alerted_at: acknowledgement_due(alerted_at, days, holidays),
        clock=lambda: datetime.now(UTC),
        new_id=lambda: str(uuid.uuid4()),
        default_trust=settings.default_trust,
    )


async def serve(settings: WorklistSettings, kafka: KafkaSettings, topics: TopicNames) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    reviews = KafkaReviews(kafka, topics.reviews, settings.review_send_timeout_seconds)
    desk = build_desk(settings, reviews)
    follower = Follower(kafka, [topics.cancer_flags, topics.alerts, topics.reviews], desk.apply)
    await reviews.start()
    following = asyncio.create_task(follower.run(stop))
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            oidc = OidcClient(
                settings.oidc_issuer,
                settings.oidc_client_id,
                settings.oidc_client_secret.get_secret_value(),
                http,
            )
            caught_up = asyncio.create_task(follower.caught_up.wait())
            await asyncio.wait({caught_up, following}, return_when=asyncio.FIRST_COMPLETED)
            if following.done():
                caught_up.cancel()
                following.result()  # the follower failed before the view was built: say why
                return 1
            server = uvicorn.Server(
                uvicorn.Config(
                    create_app(settings, desk, oidc),
                    host=settings.http_host,
                    port=settings.http_port,
                    log_config=None,
                    access_log=False,  # a query string or path could be logged otherwise
                    lifespan="off",
                )
            )
            http_task = asyncio.create_task(server.serve())
            log.info("worklist serving", extra={"port": settings.http_port})
            stopped = asyncio.create_task(stop.wait())
            await asyncio.wait({stopped, following, http_task}, return_when=asyncio.FIRST_COMPLETED)
            server.should_exit = True
            stop.set()
            with contextlib.suppress(asyncio.CancelledError):
                await http_task
            following.result() if following.done() else await following
    finally:
        stop.set()
        if not following.done():
            following.cancel()
        await reviews.stop()
    log.info("worklist stopped")
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="rmbc worklist",
        description="The CNS and MDT worklist: every alert acknowledged, every finding confirmed "
        "by people. Pages at RMBC_WORKLIST_PUBLIC_URL; sign-in with OpenID Connect.",
        epilog="environment variables:\n" + env_help() + "\n  KAFKA_* and RMBC_TOPIC_* as "
        "for every rmbc service.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.parse_args(argv)
    configure_logging("worklist")
    settings = WorklistSettings()  # required values come from the environment
    return asyncio.run(serve(settings, KafkaSettings(), TopicNames()))
