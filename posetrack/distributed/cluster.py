"""Getting a Ray connection: the embedded loopback-only instance, or an existing cluster.

Also the start-of-run check that every node sees the inputs and can write the output folder
(a cluster run needs a filesystem every node shares).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from posetrack.errors import InputError, OutputError, UserError


class RayMissing(UserError):
    """``--workers``/``--ray`` without Ray installed."""


def require_ray():
    """The ``ray`` module, or a one-line error saying what to install."""
    try:
        import ray
    except ImportError:
        raise RayMissing(
            'distributed runs (--workers, --ray) need Ray: pip install "posetrack[ray]"'
        ) from None
    return ray


def _loopback_only(ray) -> None:
    """Make a local instance advertise and bind 127.0.0.1 only.

    Quirk: Ray replaces 127.0.0.1 by the machine's routable address (so other nodes could join)
    unless multi-node support is switched off, which is read from this environment variable at
    import time; the module constant is set as well in case ray was imported already.
    """
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    from ray._private import ray_constants

    ray_constants.ENABLE_RAY_CLUSTER = False


@contextlib.contextmanager
def connect(
    address: str | None = None, *, num_cpus: int | None = None, temp_dir: str | None = None
) -> Iterator[object]:
    """A Ray connection for the duration of the block.

    Uses the connection this process already has (tests, notebooks); else joins ``address`` (or
    ``RAY_ADDRESS``); else starts a local instance on 127.0.0.1 with every CPU and GPU of this
    machine, shut down again at the end.
    """
    ray = require_ray()
    if ray.is_initialized():
        yield ray
        return
    address = address or os.environ.get("RAY_ADDRESS") or None
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    try:
        if address:
            ray.init(address=address, log_to_driver=False, logging_level="ERROR")
        else:
            _loopback_only(ray)
            ray.init(num_cpus=num_cpus, include_dashboard=False, _node_ip_address="127.0.0.1",
                     _temp_dir=temp_dir, log_to_driver=False, logging_level="ERROR")  # fmt: skip
    except ConnectionError as e:
        raise UserError(f"Ray cluster at {address}: cannot connect ({str(e).splitlines()[0]})") from None
    try:
        yield ray
    finally:
        ray.shutdown()


def alive_nodes(ray) -> list[dict]:
    """The nodes that can run work: alive, with CPUs."""
    return [n for n in ray.nodes() if n.get("Alive") and n.get("Resources", {}).get("CPU", 0) > 0]


def _node_problems(inputs: list[str], out_dir: str) -> list[str]:
    """Run on one node: what it cannot see or write."""
    problems = [f"cannot read input {p}" for p in inputs if not os.access(p, os.R_OK)]
    try:
        with tempfile.TemporaryFile(dir=out_dir):
            pass
    except OSError as e:
        problems.append(f"cannot write the output folder {out_dir} ({e.strerror or e})")
    return problems


def check_shared_paths(
    ray, inputs: list[str | Path], out_dir: str | Path, sample: int = 64, timeout: float = 120.0
) -> None:
    """Every node reads (a sample of) the inputs and writes ``out_dir``; one line on the first gap.

    Up to ``sample`` inputs, spread over the list, are checked per node: the point is to catch a
    folder that is not mounted, not to stat a million files on every node (a worker that still
    cannot open its video fails that video alone).
    """
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    paths = [str(p) for p in inputs]
    if len(paths) > sample:
        step = len(paths) / sample
        paths = [paths[int(i * step)] for i in range(sample)]
    probe = ray.remote(num_cpus=0)(_node_problems)
    nodes = alive_nodes(ray)
    refs = [probe.options(scheduling_strategy=NodeAffinitySchedulingStrategy(n["NodeID"], soft=False))
            .remote(paths, str(out_dir)) for n in nodes]  # fmt: skip
    for node, problems in zip(nodes, ray.get(refs, timeout=timeout)):
        if problems:
            error = OutputError if "output folder" in problems[0] else InputError
            raise error(f"node {node['NodeManagerAddress']} {problems[0]}: inputs and outputs must be "
                        "on a filesystem that every node of the cluster shares")  # fmt: skip
