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
from services.worklist.escalation_loop import EscalationLoop, EscalationSettings
from services.worklist.escalation_loop import build as build_escalation
from services.worklist.escalation_loop import env_help as escalation_env_help
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
STOP_SECONDS = 10.0  # how long the follower and the escalation loop get to stop on SIGTERM


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


async def serve(
    settings: WorklistSettings,
    kafka: KafkaSettings,
    topics: TopicNames,
    escalation: EscalationLoop | None = None,
) -> int:
    """Follow the topics, serve the pages once caught up and, when given, run the escalation loop
    beside them; until SIGTERM/SIGINT, or until one of them fails (then exit 1: an orchestrator
    restarts the whole process, so no part of it keeps running without the others)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    reviews = KafkaReviews(kafka, topics.reviews, settings.review_send_timeout_seconds)
    desk = build_desk(settings, reviews)
    follower = Follower(kafka, [topics.cancer_flags, topics.alerts, topics.reviews], desk.apply)
    await reviews.start()
    background = {asyncio.create_task(follower.run(stop), name="follower")}
    if escalation is not None:
        background.add(asyncio.create_task(escalation.run(stop), name="escalation"))
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            oidc = OidcClient(
                settings.oidc_issuer,
                settings.oidc_client_id,
                settings.oidc_client_secret.get_secret_value(),
                http,
            )
            caught_up = asyncio.create_task(follower.caught_up.wait())
            await asyncio.wait({caught_up, *background}, return_when=asyncio.FIRST_COMPLETED)
            if not caught_up.done():
                caught_up.cancel()
                return _failed(background)
            server = uvicorn.Server(
                uvicorn.Config(
                    create_app(settings, desk, oidc, follower.unreadable),
                    host=settings.http_host,
                    port=settings.http_port,
                    log_config=None,
                    access_log=False,  # a query string or path could be logged otherwise
                    lifespan="off",
                )
            )
            http_task = asyncio.create_task(server.serve(), name="http")
            log.info(
                "worklist serving",
                extra={"port": settings.http_port, "escalation": escalation is not None},
            )
            stopped = asyncio.create_task(stop.wait())
            await asyncio.wait(
                {stopped, http_task, *background}, return_when=asyncio.FIRST_COMPLETED
            )
            server.should_exit = True
            stop.set()
            with contextlib.suppress(asyncio.CancelledError):
                await http_task
            await asyncio.wait(background, timeout=STOP_SECONDS)
            if not stopped.done() or any(t.done() and t.exception() for t in background):
                return _failed(background)
    finally:
        stop.set()
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        await reviews.stop()
    log.info("worklist stopped")
    return 0


def _failed(tasks: set[asyncio.Task[None]]) -> int:
    """Log which part stopped and why; the exit code of a worklist that did not stop on request."""
    for task in tasks:
        if task.done() and not task.cancelled():
            error = task.exception()
            log.error(
                "worklist part stopped",
                extra={"part": task.get_name(), "error": type(error).__name__ if error else None},
            )
    return 1


ESCALATION_HELP = """escalation (RMBC_WORKLIST_ESCALATION, on by default): the worklist also runs
the escalation loop, which e-mails each alert no one acknowledged within
RMBC_WORKLIST_ACKNOWLEDGE_WITHIN_WORKING_DAYS to the team's MDT lead, once. Run exactly one loop
per deployment: with several worklist processes, set RMBC_WORKLIST_ESCALATION=false on all but
one. The loop reads:
""" + escalation_env_help()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="rmbc worklist",
        description="The CNS and MDT worklist: every alert acknowledged, every finding confirmed "
        "by people. Pages at RMBC_WORKLIST_PUBLIC_URL; sign-in with OpenID Connect.",
        epilog="environment variables:\n"
        + env_help()
        + "\n  KAFKA_* and RMBC_TOPIC_* as for every rmbc service.\n\n"
        + ESCALATION_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.parse_args(argv)
    configure_logging("worklist")
    settings = WorklistSettings()  # required values come from the environment
    escalation = build_escalation(EscalationSettings()) if settings.escalation else None
    return asyncio.run(serve(settings, KafkaSettings(), TopicNames(), escalation))
