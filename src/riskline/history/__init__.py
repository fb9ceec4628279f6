"""riskline.history: the watch over months or years of recordings, cut into partitions a cluster runs at once.

``partition`` is pure (cutting, the kernel — the live ``Watch`` itself — and stitching); ``pipeline`` lays
it on Apache Beam. See docs/history.md.
"""

from riskline.history.partition import (
    HistoryError,
    HistoryPlan,
    PartitionKey,
    PartitionResult,
    detect_partition,
    partition_keys,
    run_in_process,
    stitch,
)

__all__ = [
    "HistoryError",
    "HistoryPlan",
    "PartitionKey",
    "PartitionResult",
    "detect_partition",
    "partition_keys",
    "run_in_process",
    "stitch",
]
