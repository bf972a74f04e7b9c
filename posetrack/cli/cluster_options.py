"""The options that spread ``run`` and ``benchmark`` over Ray workers (``--workers``, ``--ray``...)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import click


@dataclass
class ClusterOptions:
    workers: int | None
    address: str | None
    cpus_per_worker: float
    gpus_per_worker: float | None

    @property
    def enabled(self) -> bool:
        """Distributed when asked for: a worker count or a cluster address."""
        return self.workers is not None or self.address is not None

    def kwargs(self) -> dict:
        return {"workers": self.workers, "address": self.address, "cpus_per_worker": self.cpus_per_worker,
                "gpus_per_worker": self.gpus_per_worker}  # fmt: skip


def cluster_options(f: Callable) -> Callable:
    """Adds the options and passes them to the command as one ``cluster`` argument."""
    options = [
        click.option("--workers", type=click.IntRange(min=1), default=None,
                     help="Run on N Ray workers (a local Ray instance unless --ray/RAY_ADDRESS)."),
        click.option("--ray", "address", default=None, metavar="ADDRESS",
                     help="Join this Ray cluster (default: RAY_ADDRESS); inputs and outputs must be on a "
                          "filesystem every node shares."),
        click.option("--cpus-per-worker", type=click.FloatRange(min=0.01), default=1.0, show_default=True,
                     help="CPUs Ray reserves for each worker."),
        click.option("--gpus-per-worker", type=click.FloatRange(min=0.0), default=None,
                     help="GPUs (or a share, e.g. 0.5) per worker; default: the GPUs shared among the workers."),
    ]  # fmt: skip

    def wrapper(*args, workers, address, cpus_per_worker, gpus_per_worker, **kw):
        return f(*args, cluster=ClusterOptions(workers, address, cpus_per_worker, gpus_per_worker), **kw)

    wrapper.__name__, wrapper.__doc__ = f.__name__, f.__doc__
    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper


def read_list(spec: str) -> list[Path]:
    """``--list``: a file of paths (one per line, # comments) or, if no such file, a glob pattern."""
    import glob

    from posetrack.errors import InputError

    path = Path(spec)
    if path.is_file():
        lines = path.read_text(encoding="utf-8").splitlines()
        return [Path(s.strip()) for s in lines if s.strip() and not s.strip().startswith("#")]
    if glob.has_magic(spec):
        found = sorted(glob.glob(spec, recursive=True))
        if not found:
            raise InputError(f"--list {spec}: the pattern matches no files")
        return [Path(p) for p in found]
    raise InputError(f"--list {spec}: no such file (give a file of paths or a glob pattern)")


def report_distributed(report, echo: Callable[[str], None]) -> None:
    """One line per failed video, warnings, then the summary line; raises when any failed."""
    for r in report.results:
        for w in r.warnings:
            echo(f"posetrack: warning: {Path(r.item).name}: {w}")
    for r in report.failed:
        msg = r.error or r.status
        echo(f"posetrack: failed: {msg if r.item in msg else f'{r.item}: {msg}'}")
    echo(report.line())
    report.raise_for_failures()
