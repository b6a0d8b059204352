"""faust's PartitionsMismatch met while the worker runs is the broker's fault, not the event's."""

from faust.exceptions import PartitionsMismatch


def broker_metadata_fault(error: BaseException) -> bool:
    """The start-up check (`topic_check`) has seen the changelog and input agree, so a mismatch
    now is the consumer's metadata missing a topic's partitions while a broker of a cluster
    restarts ("has 0 partitions"): a fault the restart does not meet again, which must not count
    towards dead-lettering the event."""
    return isinstance(error, PartitionsMismatch)
