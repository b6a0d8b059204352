"""The `rmbc` command. Each subcommand lives with the service it runs and is imported on demand."""

import importlib
import sys

from pydantic import ValidationError

from shared.settings import settings_problems

COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("services.demo.main", "the main job: the whole pipeline on a synthetic cohort"),
    "classify": ("services.classifier.offline", "classify FHIR files offline, no Kafka"),
    "terminology": (
        "services.classifier.valuesets.cli",
        "build | refresh the SNOMED CT value sets the classifier reads",
    ),
    "replay": ("services.ingest.replay", "send FHIR / NDJSON / HL7 v2 files to a running ingest"),
    "up": ("services.up", "a complete local stack for a trial; Ctrl-C stops it"),
    "broker": ("services.broker", "start | stop | status the local Kafka broker"),
    "topics": ("services.topics", "create every topic with its partitions, replication, retention"),
    "ingest": ("services.ingest.main", "run the ingest service (HTTP FHIR + MLLP)"),
    "classifier": ("services.classifier.main", "run the classifier worker"),
    "notifier": ("services.notifier.main", "run the notifier"),
    "worklist": ("services.worklist.main", "run the CNS and MDT worklist (web pages, sign-in)"),
    "cosd": ("services.registry.cosd_cli", "export one month's COSD v10 XML"),
    "registry": (
        "services.registry.report_cli",
        "report | agree: the analyst's report; MDT decisions into agreed records",
    ),
}


def usage() -> str:
    lines = ["usage: rmbc COMMAND [ARGS...]", "", "commands:"]
    lines += [f"  {name:<11} {summary}" for name, (_, summary) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help", "help"):
        print(usage())
        return 0
    command = COMMANDS.get(args[0])
    if command is None:
        print(f"rmbc: unknown command {args[0]!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(command[0])
    try:
        result: int = module.main(args[1:])
    except ValidationError as error:  # settings read from the environment: name, never value
        print(refusal(args[0], error), file=sys.stderr)
        return 2
    return result


def refusal(command: str, error: ValidationError) -> str:
    """What `rmbc COMMAND` prints when its settings are invalid: each variable and its problem."""
    return f"rmbc {command}: refusing to start: " + "; ".join(settings_problems(error))


if __name__ == "__main__":
    sys.exit(main())
