"""The history job as an Apache Beam pipeline: read → key by partition → the watch per partition → stitch.

    files ─ReadObservations─▶ (PartitionKey, Observation)… ─GroupByKey─▶ detect_partition (the live Watch)
          ─▶ (rule|a|b, PartitionResult)… ─GroupByKey─▶ stitch ─▶ encounters (JSON lines, one file per shard)

Every transform calls ``riskline.history.partition``; nothing here decides what an encounter is. The runner is
always named (``direct`` runs in this process or, with ``workers`` > 1, in that many local processes; ``flink``,
``spark`` and ``dataflow`` take their own options after ``--``), so nothing is fetched at run time unless a
remote runner is asked for. Apache Beam is an optional dependency with its own lock (requirements-beam.lock):
its pins (pyarrow < 26, python-dateutil < 3) differ from the main environment's.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from riskline.detection.rulebook import Rulebook, load_rulebook
from riskline.history.partition import (
    HistoryPlan,
    PartitionKey,
    PartitionResult,
    detect_partition,
    in_canonical_order,
    partition_keys,
    stitch,
    stitch_key,
)
from riskline.incidents.model import Encounter
from riskline.ingest.observation import Observation
from riskline.ingest.sources import ReaderOptions, read_path
from riskline.ingest.stats import IngestStats
from riskline.storage.watch_store import encounter_from_row, encounter_to_row
from riskline.tracks.attribution import Attributor
from riskline.tracks.fleet import Fleet

RUNNERS = {"direct": "DirectRunner", "flink": "FlinkRunner", "spark": "SparkRunner", "dataflow": "DataflowRunner"}


class BeamMissing(RuntimeError):
    """Apache Beam is not installed in this environment."""


@dataclass(frozen=True, slots=True)
class JobSettings:
    """What every worker needs to rebuild the watch: plain values, so they pickle to any runner."""

    rules: str | None
    sets: tuple[str, ...]
    fleet: str | None
    plan: HistoryPlan
    start_time: float | None = None

    def rulebook(self) -> Rulebook:
        return load_rulebook(Path(self.rules) if self.rules else None, self.sets)

    def attributor(self) -> Attributor:
        return Attributor(Fleet.load(self.fleet) if self.fleet else None)


@dataclass(frozen=True, slots=True)
class JobResult:
    encounters: list[Encounter]
    stats: IngestStats
    partitions: int


def beam_available() -> bool:
    """Apache Beam importable here (its import logs a warning about Google Cloud clients riskline never uses;
    that warning is silenced)."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        import apache_beam  # noqa: F401
    except ImportError:
        return False
    finally:
        root.setLevel(level)
    return True


def run_history(
    inputs: Sequence[Path],
    settings: JobSettings,
    *,
    runner: str,
    workers: int,
    work_dir: Path,
    extra_options: Sequence[str] = (),
) -> JobResult:
    """Run the job on ``runner``; encounters come back in canonical order (by start, rule, pair)."""
    if not beam_available():
        raise BeamMissing(
            "riskline history needs Apache Beam, which is not installed here: "
            "pip install -r requirements-beam.lock in its own environment (see docs/history.md)"
        )
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions

    logging.getLogger("apache_beam").setLevel(logging.ERROR)
    settings.plan.check(settings.rulebook())
    options = [f"--runner={RUNNERS[runner]}", *extra_options]
    if runner == "direct":
        options += [f"--direct_num_workers={workers}"]
        options += ["--direct_running_mode=" + ("multi_processing" if workers > 1 else "in_memory")]
    out_prefix = work_dir / "encounters"
    stats_prefix = work_dir / "stats"
    counts_prefix = work_dir / "partitions"
    with beam.Pipeline(options=PipelineOptions(options)) as pipeline:
        read = (
            pipeline
            | "Files" >> beam.Create([str(path) for path in inputs])
            | "Read" >> beam.ParDo(ReadObservations(settings)).with_outputs("stats", main="observations")
        )
        keyed = read.observations | "Key" >> beam.FlatMap(
            lambda o, plan: (((key.window, *key.cell), o) for key in partition_keys(o, plan)), settings.plan
        )
        grouped = keyed | "Partitions" >> beam.GroupByKey()
        found = grouped | "Watch" >> beam.ParDo(DetectPartition(settings))
        (
            found
            | "ByPair" >> beam.Map(lambda r: (stitch_key(r.encounter), r))
            | "Pairs" >> beam.GroupByKey()
            | "Stitch" >> beam.FlatMap(lambda item, plan: stitch(list(item[1]), plan), settings.plan)
            | "Json" >> beam.Map(_encounter_line)
            | "WriteEncounters" >> beam.io.WriteToText(str(out_prefix), file_name_suffix=".jsonl")
        )
        (
            read.stats
            | "SumStats" >> beam.CombineGlobally(_merge_stats)
            | "StatsJson" >> beam.Map(json.dumps)
            | "WriteStats" >> beam.io.WriteToText(str(stats_prefix), file_name_suffix=".json")
        )
        (
            grouped
            | "CountPartitions" >> beam.combiners.Count.Globally()
            | "WriteCount" >> beam.io.WriteToText(str(counts_prefix), file_name_suffix=".txt")
        )
    encounters = [_encounter_from_line(line) for line in _lines(work_dir, "encounters-")]
    stats = IngestStats()
    for line in _lines(work_dir, "stats-"):
        stats.merge(_stats_from_dict(json.loads(line)))
    partitions = sum(int(line) for line in _lines(work_dir, "partitions-"))
    return JobResult(in_canonical_order(encounters), stats, partitions)


def _lines(work_dir: Path, prefix: str) -> Iterator[str]:
    for path in sorted(work_dir.glob(f"{prefix}*")):
        yield from (line for line in path.read_text(encoding="utf-8").splitlines() if line)


class ReadObservations:
    """Beam DoFn (built lazily so this module imports without Beam): one file → its observations; the
    reader's counts go to the ``stats`` output."""

    def __new__(cls, settings: JobSettings) -> Any:
        import apache_beam as beam

        class _Read(beam.DoFn):  # type: ignore[misc]
            def process(self, path: str) -> Iterator[Any]:
                stats = IngestStats()
                options = ReaderOptions(start_time=settings.start_time)
                yield from read_path(Path(path), stats, options=options)
                yield beam.pvalue.TaggedOutput("stats", stats.as_dict())

        return _Read()


class DetectPartition:
    """Beam DoFn: one partition's observations through the kernel (``detect_partition``)."""

    def __new__(cls, settings: JobSettings) -> Any:
        import apache_beam as beam

        class _Detect(beam.DoFn):  # type: ignore[misc]
            def setup(self) -> None:
                self.rulebook = settings.rulebook()
                self.attributor = settings.attributor()

            def process(
                self, element: tuple[tuple[int, int, int], Iterable[Observation]]
            ) -> Iterator[PartitionResult]:
                (window, row, column), observations = element
                key = PartitionKey(window, (row, column))
                yield from detect_partition(key, observations, self.rulebook, self.attributor, settings.plan)

        return _Detect()


def _merge_stats(dicts: Iterable[dict[str, Any]]) -> dict[str, Any]:
    total = IngestStats()
    for data in dicts:
        total.merge(_stats_from_dict(data))
    return total.as_dict()


def _stats_from_dict(data: dict[str, Any]) -> IngestStats:
    stats = IngestStats(
        read=int(data["read"]),
        accepted=int(data["accepted"]),
        observations=int(data["observations"]),
        bytes_read=int(data["bytes_read"]),
    )
    for reason, count in data["rejected"].items():
        stats.reject(reason, int(count))
    return stats


def _encounter_line(encounter: Encounter) -> str:
    """The ``incidents`` row form (every float exact, evidence included), as one JSON line."""
    return json.dumps(encounter_to_row(encounter), separators=(",", ":"), allow_nan=False)


def _encounter_from_line(line: str) -> Encounter:
    return encounter_from_row(json.loads(line))
