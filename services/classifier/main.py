"""`rmbc classifier`: run the classifier worker; configuration from the environment."""

import sys

from services.classifier.settings import ENVIRONMENT, ClassifierSettings

USAGE = (
    "usage: rmbc classifier [--redrive]\n\n"
    "Runs the classifier worker.\n"
    "  --redrive  put the classifier's dead letters not re-driven yet back on the input topic\n"
    "             (each once), print the counts and exit\n\n"
    "Environment variables:\n"
)


def main(argv: list[str]) -> int:
    if argv and argv[0] in ("-h", "--help"):
        print(USAGE + "\n".join(f"  {name:<34} {text}" for name, text in ENVIRONMENT.items()))
        return 0
    if argv == ["--redrive"]:
        import asyncio
        import json

        from services.classifier.redrive import redrive

        print(json.dumps(asyncio.run(redrive(ClassifierSettings()))))
        return 0
    if argv:
        print(f"rmbc classifier: unexpected arguments {argv}; see --help", file=sys.stderr)
        return 2
    from faust.worker import Worker

    from services.classifier.app import create_app
    from shared.logs import configure_logging

    settings = ClassifierSettings()
    configure_logging("classifier", settings.log_level)
    classifier = create_app(settings)
    worker = Worker(
        classifier.app,
        loglevel=settings.log_level,
        quiet=True,
        redirect_stdouts=False,
        override_logging=False,
    )
    try:
        worker.execute_from_commandline()
    except SystemExit as done:
        return int(done.code or 0)
    return 0
