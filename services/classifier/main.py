"""`rmbc classifier`: run the classifier worker; configuration from the environment."""

import asyncio
import sys

from services.classifier.settings import ENVIRONMENT, ClassifierSettings

USAGE = (
    "usage: rmbc classifier [--redrive [--json]]\n\n"
    "Runs the classifier worker.\n"
    "  --redrive  put the classifier's dead letters not re-driven yet back on the input topic\n"
    "             (each once), print what it did and exit (--json: the counts as one object)\n\n"
    "Environment variables:\n"
)


def redrive_summary(counts: dict[str, int], input_topic: str) -> str:
    """What `--redrive` did, in words an operator reads at a glance."""
    lines = [
        f"read {counts['read']} dead letter(s) not re-driven before",
        f"  {counts['redriven']} put back on {input_topic}, to be classified again",
    ]
    if counts["other"]:
        lines.append(f"  {counts['other']} left alone: not from {input_topic}")
    if counts["unreadable"]:
        lines.append(f"  {counts['unreadable']} unreadable: not a dead letter rmbc wrote")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if argv and argv[0] in ("-h", "--help"):
        print(USAGE + "\n".join(f"  {name:<34} {text}" for name, text in ENVIRONMENT.items()))
        return 0
    if argv in (["--redrive"], ["--redrive", "--json"]):
        import json

        from services.classifier.redrive import redrive

        settings = ClassifierSettings()
        counts = asyncio.run(redrive(settings))
        as_json = argv[-1] == "--json"
        print(
            json.dumps(counts)
            if as_json
            else redrive_summary(counts, settings.topics.clinical_events)
        )
        return 0
    if argv:
        print(f"rmbc classifier: unexpected arguments {argv}; see --help", file=sys.stderr)
        return 2
    from faust.worker import Worker

    from services.classifier.concept_maps import ENVIRONMENT as CONCEPT_MAPS
    from services.classifier.concept_maps import ConceptMapError, with_trust_maps
    from services.classifier.stream.app import create_app
    from services.classifier.stream.topic_check import StartRefused, read_table_layout
    from services.classifier.terminology import load_terminology
    from shared.logs import configure_logging

    settings = ClassifierSettings()
    configure_logging("classifier", settings.log_level)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:  # the trust's maps are checked first: a bad file needs no broker to be found
        terms = with_trust_maps(load_terminology(), settings.concept_maps)
    except ConceptMapError as error:
        print(f"rmbc classifier: {CONCEPT_MAPS}: {error}", file=sys.stderr)
        return 2
    try:
        layout = asyncio.run(read_table_layout(settings))
    except StartRefused as error:
        print(f"rmbc classifier: refusing to start: {error}", file=sys.stderr)
        return 2
    classifier = create_app(settings, layout, terms)
    worker = Worker(
        classifier.app,
        loglevel=settings.log_level,
        quiet=True,
        redirect_stdouts=False,
        override_logging=False,
    )
    # faust's start-up spinner ends by writing a cursor escape to stdout whether or not it is a
    # terminal; in a log that is a line which is not JSON
    worker.spinner = None
    try:
        worker.execute_from_commandline()
    except SystemExit as done:
        return int(done.code or 0)
    return 0
