"""Many videos → result files on a Ray cluster: the Python API behind ``posetrack run --workers``.

The driver decides per video before any work starts: complete outputs → skipped (a re-run
resumes), some but not all outputs → failed unless ``overwrite`` (they are not ours to replace),
none → queued. It then checks that every node sees the inputs and can write the output folder,
runs the queue on the worker pool and writes a JSON summary of the run.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from posetrack.distributed.jobs import Job, SequenceJob, VideoJob
from posetrack.distributed.scheduler import ItemResult, Progress, run_items
from posetrack.errors import OutputError, UserError

log = logging.getLogger("posetrack")


class ItemsFailed(UserError):
    """Some videos did not finish; exit code 2 when any failed for a user-caused reason, else 1."""

    def __init__(self, message: str, user_caused: bool) -> None:
        super().__init__(message)
        self.exit_code = 2 if user_caused else 1


@dataclass
class RunReport:
    results: list[ItemResult]  # one per video, in the order given
    seconds: float
    workers: int
    nodes: int
    summary_path: Path | None
    unit: str = "video"

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.results)

    @property
    def frames(self) -> int:
        return sum(r.frames for r in self.results if r.status == "done")

    @property
    def failed(self) -> list[ItemResult]:
        return [r for r in self.results if r.status not in ("done", "skipped")]

    def line(self) -> str:
        fps = self.frames / self.seconds if self.seconds > 0 else 0.0
        text = (f"{len(self.results)} {self.unit}s: {self.count('done')} done, {self.count('skipped')} skipped, "
                f"{len(self.failed)} failed; {self.frames} frames in {self.seconds:.1f} s, {fps:.1f} frames/s "
                f"on {self.workers} workers, {self.nodes} nodes")  # fmt: skip
        return text + (f"; summary {self.summary_path}" if self.summary_path else "")

    def raise_for_failures(self) -> None:
        bad = self.failed
        if bad:
            user = any(r.status == "failed" for r in bad)
            raise ItemsFailed(f"{len(bad)} of {len(self.results)} {self.unit}s failed (listed above)", user)


def _resources(ray, workers: int | None, cpus: float, gpus: float | None, device: str) -> tuple[int, float]:
    """Worker count and GPU share per worker, from what the cluster has."""
    total = ray.cluster_resources()
    n_cpu, n_gpu = total.get("CPU", 0.0), total.get("GPU", 0.0)
    if gpus is None:  # default: share every GPU among the workers, none when running on CPUs
        gpus = 0.0 if device == "cpu" or n_gpu == 0 else min(1.0, n_gpu / workers) if workers else 1.0
    if cpus > n_cpu:
        raise UserError(f"--cpus-per-worker {cpus:g}: the cluster has {n_cpu:g} CPUs")
    if gpus > n_gpu:
        raise UserError(f"--gpus-per-worker {gpus:g}: the cluster has {n_gpu:g} GPUs")
    if workers is None:
        workers = int(n_gpu // gpus) if gpus > 0 else int(n_cpu // cpus)
    if workers < 1:
        raise UserError("--workers must be at least 1")
    return workers, gpus


def _write_summary(path: Path, report: RunReport, started: float) -> None:
    from posetrack.atomic import AtomicFile

    path.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "seconds": round(report.seconds, 3), "workers": report.workers, "nodes": report.nodes,
        "counts": dict(Counter(r.status for r in report.results)), "frames": report.frames,
        "videos": [r.to_dict() for r in report.results],
    }  # fmt: skip
    out = AtomicFile(path)
    try:
        json.dump(data, out.file, indent=1)
        out.commit()
    except BaseException:
        out.abort()
        raise


def _execute(
    job: Job,
    items: list[str],
    known: dict[str, ItemResult],
    out_dir: Path,
    *,
    address: str | None,
    workers: int | None,
    cpus_per_worker: float,
    gpus_per_worker: float | None,
    device: str,
    on_progress: Callable[[Progress], None] | None,
    summary: Path | None | bool,
    check_inputs: bool = True,
    unit: str = "video",
) -> RunReport:
    """Run the queued ``items`` (the others have a result in ``known``) and write the summary."""
    from posetrack.distributed.cluster import alive_nodes, check_shared_paths, connect

    started = time.time()
    t0 = time.perf_counter()
    todo = [i for i in items if i not in known]
    with connect(address) as ray:
        workers, gpus = _resources(ray, workers, cpus_per_worker, gpus_per_worker, device)
        n_nodes = len(alive_nodes(ray))
        if todo:
            check_shared_paths(ray, todo if check_inputs else [], out_dir)
            done = run_items(ray, job, todo, workers=workers, cpus_per_worker=cpus_per_worker,
                             gpus_per_worker=gpus, on_progress=on_progress)  # fmt: skip
            known = {**known, **{r.item: r for r in done}}
    report = RunReport([known[i] for i in items], time.perf_counter() - t0, workers, n_nodes, None, unit)
    if summary is not False:
        path = (
            summary
            if isinstance(summary, Path)
            else (out_dir / "runs" / time.strftime("run-%Y%m%dT%H%M%SZ.json", time.gmtime(started)))
        )
        _write_summary(path, report, started)
        report.summary_path = path
    return report


def run_many(
    videos: Iterable[str | Path],
    config,
    out_dir: str | Path,
    *,
    workers: int | None = None,
    address: str | None = None,
    cpus_per_worker: float = 1.0,
    gpus_per_worker: float | None = None,
    overwrite: bool = False,
    on_progress: Callable[[Progress], None] | None = None,
    summary: str | Path | bool | None = None,
) -> RunReport:
    """Track poses in every video on a pool of Ray workers; one :class:`ItemResult` per video.

    ``config`` is a :class:`posetrack.config.PipelineConfig`; ``address`` a Ray cluster to join
    (default: ``RAY_ADDRESS``, else a local instance on this machine). ``workers`` defaults to one
    per GPU share, or per ``cpus_per_worker`` CPUs. ``gpus_per_worker`` defaults to sharing every
    GPU among the workers. ``summary``: a path for the JSON summary, False for none, default
    ``OUT/runs/run-<UTC time>.json``. Failed videos are in the report, not raised: call
    :meth:`RunReport.raise_for_failures` for an exception.
    """
    from posetrack.runner import prepare_output_dir

    out_dir = Path(out_dir).absolute()
    paths = [str(Path(v).absolute()) for v in videos]
    job = VideoJob(config, out_dir, overwrite)
    stems: dict[Path, str] = {}
    known: dict[str, ItemResult] = {}
    for video in paths:
        if not Path(video).exists():
            raise UserError(f"{video}: no such file or folder")
        outputs = job.outputs(video)
        for p in outputs:
            if p in stems and stems[p] != video:
                raise OutputError(f"{video} and {stems[p]} would both write {p} (rename one of them)")
            stems[p] = video
        present = [p for p in outputs if p.exists()]
        if overwrite or not present:
            continue
        if len(present) == len(outputs):
            known[video] = ItemResult(video, "skipped")
        else:
            known[video] = ItemResult(video, "failed", error=f"{present[0]}: output exists already "
                                      "(use --overwrite to replace it)")  # fmt: skip
    skipped = sum(r.status == "skipped" for r in known.values())
    if skipped:
        log.info("skipped %d video%s with complete outputs", skipped, "s" if skipped != 1 else "")
    prepare_output_dir(out_dir)
    return _execute(
        job,
        paths,
        known,
        out_dir,
        address=address,
        workers=workers,
        cpus_per_worker=cpus_per_worker,
        gpus_per_worker=gpus_per_worker,
        device=config.device,
        on_progress=on_progress,
        summary=Path(summary) if isinstance(summary, (str, Path)) else summary,
    )


def predict_sequences(
    sequences: list,
    config,
    image_root: str | Path,
    settings,
    *,
    workers: int | None = None,
    address: str | None = None,
    cpus_per_worker: float = 1.0,
    gpus_per_worker: float | None = None,
    on_progress: Callable[[Progress], None] | None = None,
) -> RunReport:
    """The benchmark's predictions for ``sequences`` (those without a complete file) on Ray workers.

    ``settings`` is the benchmark's :class:`~posetrack.evaluation.benchmark.PredictSettings`. The
    summary goes to ``OUT/runs/`` (not beside the predictions: the evaluation reads every JSON
    file there).
    """
    from dataclasses import replace

    settings = replace(
        settings,
        out_dir=Path(settings.out_dir).absolute(),
        detections_dir=(Path(settings.detections_dir).absolute() if settings.detections_dir else None),
    )  # workers' cwd differs
    job = SequenceJob(config, Path(image_root).absolute(), settings)
    items = [str(Path(s.annotation).absolute()) for s in sequences]
    return _execute(
        job,
        items,
        {},
        Path(settings.out_dir).absolute(),
        address=address,
        workers=workers,
        cpus_per_worker=cpus_per_worker,
        gpus_per_worker=gpus_per_worker,
        device=config.device,
        on_progress=on_progress,
        summary=None,
        unit="sequence",
    )
