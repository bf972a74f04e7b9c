"""The driver loop: a pool of workers, a queue of items, one item in flight per worker.

Ray places the actors and reports dead ones; this loop only decides what to hand out next. A
worker that dies (process killed, node lost) costs the item it held: its partial files are
removed and the item goes back to the front of the queue for any other worker, from the start,
and a replacement worker is started. An item that kills ``max_attempts`` workers is given up.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from posetrack.distributed.jobs import Job, clean_partial
from posetrack.distributed.worker import Worker
from posetrack.errors import UserError

POLLS_PER_SECOND = 200  # frame-count polls the driver sends at most, whatever the pool size


@dataclass
class ItemResult:
    """The outcome of one video (or sequence); ``status`` is done, skipped, failed (a user-caused
    problem, in ``error``), error (a bug) or lost (its workers kept dying)."""

    item: str
    status: str
    node: str | None = None  # the worker node's address
    node_id: str | None = None
    seconds: float = 0.0
    frames: int = 0
    attempts: int = 0
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    extra: dict = field(default_factory=dict)  # people, tracks, outputs

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict:
        d = asdict(self)
        d.update(d.pop("extra"), fps=round(self.fps, 3))
        return d


@dataclass
class WorkerState:
    handle: object
    pid: int | None = None
    node_id: str | None = None
    item: str | None = None
    frames: int = 0  # of the item in progress
    started: float = 0.0
    polling: bool = False


@dataclass
class Progress:
    """A snapshot for progress displays (and tests that need to know which process runs what)."""

    total: int
    done: int
    failed: int
    frames: int  # finished and in progress, since the start
    elapsed: float
    workers: list[WorkerState]

    @property
    def running(self) -> int:
        return sum(w.item is not None for w in self.workers)

    @property
    def fps(self) -> float:
        return self.frames / self.elapsed if self.elapsed > 0 else 0.0


def _lost_errors(ray) -> tuple[type, ...]:
    ex = ray.exceptions
    names = ("RayActorError", "WorkerCrashedError", "NodeDiedError", "ObjectLostError", "OwnerDiedError",
             "LocalRayletDiedError", "OutOfMemoryError")  # fmt: skip
    return tuple(getattr(ex, n) for n in names if hasattr(ex, n))


def run_items(
    ray,
    job: Job,
    items: list[str],
    *,
    workers: int,
    cpus_per_worker: float = 1.0,
    gpus_per_worker: float = 0.0,
    max_attempts: int = 3,
    poll_interval: float = 0.5,
    on_progress: Callable[[Progress], None] | None = None,
) -> list[ItemResult]:
    """Run ``job`` over ``items`` on a pool of ``workers`` actors; results in the order of ``items``."""
    lost = _lost_errors(ray)
    remote = ray.remote(Worker).options(num_cpus=cpus_per_worker, num_gpus=gpus_per_worker,
                                        max_concurrency=2, max_restarts=0)  # fmt: skip
    threads = max(1, int(cpus_per_worker))
    queue = deque(items)
    attempts = dict.fromkeys(items, 0)
    results: dict[str, ItemResult] = {}
    pool: dict[int, WorkerState] = {}
    pending: dict = {}  # ObjectRef -> (kind, worker key)
    nodes = {n["NodeID"]: n["NodeManagerAddress"] for n in ray.nodes()}
    deaths_without_item = 0
    finished_frames = 0
    start = time.perf_counter()
    next_key = 0

    def spawn() -> None:
        nonlocal next_key
        w = WorkerState(remote.remote(job, threads))
        pool[next_key] = w
        pending[w.handle.ready.remote()] = ("ready", next_key)
        next_key += 1

    def dispatch(key: int) -> None:
        w = pool[key]
        if not queue:
            del pool[key]
            ray.kill(w.handle)  # nothing left for it: free its CPU/GPU share now
            return
        w.item, w.frames, w.started = queue.popleft(), 0, time.perf_counter()
        attempts[w.item] += 1
        pending[w.handle.run.remote(w.item)] = ("run", key)

    def worker_lost(key: int) -> None:
        nonlocal deaths_without_item
        w = pool.pop(key, None)
        if w is None:
            return
        for ref, (_, k) in list(pending.items()):
            if k == key:
                del pending[ref]
        if w.item is None:
            deaths_without_item += 1
            if deaths_without_item > 2 * workers:
                raise UserError(
                    f"{deaths_without_item} Ray workers died while loading the models (out of memory? "
                    "try fewer --workers or a larger --gpus-per-worker; Ray's logs say more)"
                )
        else:
            clean_partial(job.outputs(w.item))
            if attempts[w.item] >= max_attempts:
                results[w.item] = ItemResult(
                    w.item,
                    "lost",
                    attempts=attempts[w.item],
                    error=f"{w.item}: its worker died {attempts[w.item]} times",
                )
            else:
                queue.appendleft(w.item)
        if queue and len(pool) < workers:
            spawn()

    try:
        for _ in range(min(workers, len(items))):
            spawn()
        last_poll = 0.0
        while pending and len(results) < len(items):  # a replacement still waiting for room ends too
            done, _ = ray.wait(list(pending), num_returns=1, timeout=poll_interval)
            for ref in done:
                if ref not in pending:  # dropped when its worker was found dead
                    continue
                kind, key = pending.pop(ref)
                w = pool.get(key)
                if w is None:
                    continue
                try:
                    value = ray.get(ref)
                except lost:
                    worker_lost(key)
                    continue
                if kind == "poll":
                    w.polling, w.frames = False, value if w.item is not None else 0
                elif kind == "ready":
                    if value["error"]:
                        raise UserError(value["error"])
                    w.pid, w.node_id = value["pid"], value["node_id"]
                    dispatch(key)
                else:
                    item = w.item
                    extra = {k: value[k] for k in ("people", "tracks", "outputs") if k in value}
                    results[item] = ItemResult(
                        item, value["status"], nodes.get(w.node_id, w.node_id), w.node_id, value["seconds"],
                        value["frames"], attempts[item], value["error"], value["warnings"], extra)  # fmt: skip
                    finished_frames += value["frames"]
                    w.item, w.frames = None, 0
                    dispatch(key)
            now = time.perf_counter()
            if now - last_poll >= max(poll_interval, len(pool) / POLLS_PER_SECOND):
                last_poll = now
                for key, w in pool.items():
                    if w.item is not None and not w.polling:
                        w.polling = True
                        pending[w.handle.frames_done.remote()] = ("poll", key)
                if on_progress is not None:
                    failed = sum(r.status != "done" for r in results.values())
                    running_frames = sum(w.frames for w in pool.values())
                    on_progress(
                        Progress(
                            len(items),
                            len(results) - failed,
                            failed,
                            finished_frames + running_frames,
                            now - start,
                            list(pool.values()),
                        )
                    )
    finally:
        running = [w for w in pool.values() if w.item is not None]
        for w in pool.values():
            ray.kill(w.handle)
        if running:  # interrupted: let the kills land, then remove what the workers left
            time.sleep(0.5)
            for w in running:
                clean_partial(job.outputs(w.item))
    if on_progress is not None:
        failed = sum(r.status != "done" for r in results.values())
        on_progress(
            Progress(
                len(items), len(results) - failed, failed, finished_frames, time.perf_counter() - start, []
            )
        )
    return [results[item] for item in items]
