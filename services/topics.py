"""`rmbc topics create`: provision every topic of the contract from its one definition
(shared/topics.py): partitions, replication, retention and min.insync.replicas. Idempotent;
`rmbc broker start` runs it, compose's kafka-init runs it, and the Kubernetes KafkaTopic
resources are checked against the same definition by a test."""

import argparse
import asyncio
import sys

from shared.admin import TopicMismatch, create_topics
from shared.settings import KafkaSettings
from shared.topics import CLUSTER, LOCAL, TopicLayout, TopicNames, topic_specs

LAYOUTS = {"local": LOCAL, "cluster": CLUSTER}


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rmbc topics",
        description="Create every rmbc topic on the cluster at KAFKA_BOOTSTRAP_SERVERS (names "
        "from RMBC_TOPIC_*), with its partitions, replication and retention. Existing topics "
        "are kept; one whose partition count differs is an error.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("action", choices=["create"])
    parser.add_argument(
        "--layout",
        choices=sorted(LAYOUTS),
        default="local",
        help=f"local: {describe(LOCAL)}; cluster: {describe(CLUSTER)}",
    )
    parser.add_argument("--partitions", type=int, help="override the layout's partitions")
    parser.add_argument("--replication-factor", type=int, help="override the layout's replicas")
    parser.add_argument(
        "--min-insync-replicas", type=int, help="override the layout's min.insync.replicas"
    )
    return parser


def describe(layout: TopicLayout) -> str:
    return (
        f"{layout.partitions} partitions, {layout.replication_factor} replicas, "
        f"min.insync.replicas={layout.min_insync_replicas}"
    )


def layout_of(args: argparse.Namespace) -> TopicLayout:
    base = LAYOUTS[args.layout]
    return TopicLayout(
        partitions=args.partitions or base.partitions,
        replication_factor=args.replication_factor or base.replication_factor,
        min_insync_replicas=args.min_insync_replicas or base.min_insync_replicas,
    )


async def provision(kafka: KafkaSettings, layout: TopicLayout) -> dict[str, str]:
    """Every contract topic (names from RMBC_TOPIC_*) created as `layout` says, or kept."""
    return await create_topics(kafka, topic_specs(TopicNames(), layout))


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    try:
        layout = layout_of(args)
    except ValueError as error:
        print(f"rmbc topics: {error}", file=sys.stderr)
        return 2
    kafka = KafkaSettings()
    try:
        outcome = asyncio.run(provision(kafka, layout))
    except TopicMismatch as error:
        print(f"rmbc topics: {error}", file=sys.stderr)
        return 1
    for name, result in outcome.items():
        print(f"{result:<8} {name}")
    print(f"topics on {kafka.bootstrap_servers}: {describe(layout)}")
    return 0
