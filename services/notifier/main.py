"""`rmbc notifier`: the composition root. Builds settings and adapters, serves health and metrics.

`rmbc notifier --redrive` re-sends dead-lettered alerts once and exits (0 when all went out).
"""

import argparse
import asyncio
import contextlib
import logging
import signal
import sys

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from services.notifier.channels import MeshChannel, SmtpChannel
from services.notifier.directory import load_directory
from services.notifier.service import Notifier
from services.notifier.settings import NotifierSettings, env_help
from shared.logs import configure_logging

log = logging.getLogger("services.notifier")


def create_app(notifier: Notifier) -> Starlette:
    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> Response:
        ready = notifier.ready.is_set()
        return JSONResponse({"ready": ready}, status_code=200 if ready else 503)

    async def metrics(_: Request) -> Response:
        return Response(generate_latest(notifier.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics),
        ]
    )


def build(settings: NotifierSettings) -> Notifier:
    directory = load_directory(settings.directory_file)
    return Notifier(
        settings, directory, {"mesh": MeshChannel(settings), "smtp": SmtpChannel(settings)}
    )


async def serve(settings: NotifierSettings) -> int:
    notifier = build(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(notifier),
            host=settings.notifier_http_host,
            port=settings.notifier_http_port,
            log_config=None,
            access_log=False,
            lifespan="off",
        )
    )
    http = asyncio.create_task(server.serve())
    mesh = notifier.channels["mesh"]
    try:
        await mesh.handshake()  # type: ignore[attr-defined]
    except Exception as error:  # MESH down at start is not fatal: sends retry and dead-letter
        log.warning("MESH handshake failed", extra={"error": f"{type(error).__name__}"})
    try:
        await notifier.run(stop)
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await http
    log.info("notifier stopped")
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="rmbc notifier",
        description="Alert GP practices (MESH) and breast CNS teams (SMTP) exactly once per flag, "
        "and publish registry records.",
        epilog="environment variables:\n" + env_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--redrive", action="store_true", help="re-send dead-lettered alerts once, then exit"
    )
    args = parser.parse_args(argv)
    configure_logging("notifier")
    try:
        settings = NotifierSettings()
    except ValidationError as error:
        for problem in error.errors():
            where = ".".join(str(p) for p in problem["loc"])
            print(
                f"rmbc notifier: {'RMBC_' + where.upper() if where else 'settings'}: {problem['msg']}",
                file=sys.stderr,
            )
        return 2
    if args.redrive:
        counts = asyncio.run(build(settings).redrive())
        print(counts)
        return 0 if counts["still_failing"] == 0 else 1
    return asyncio.run(serve(settings))
