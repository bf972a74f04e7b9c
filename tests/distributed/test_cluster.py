"""A real two-node Ray cluster on this machine (``ray start --head`` + ``ray start --address``):
``run_many`` spreads the videos over both nodes and writes the same bytes as a sequential run.

The nodes are started with ``--block`` in their own process groups and a private temp dir, and
killed by process group afterwards: ``ray stop`` would stop every Ray instance of the machine.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from posetrack.config import load_config
from posetrack.distributed import run_many
from tests.cli._cli import posetrack
from tests.distributed.conftest import make_workspace, result_files

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(args: list[str], env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(["ray", "start", "--block", *args], env=env, start_new_session=True,
                            stdout=log.open("w"), stderr=subprocess.STDOUT)  # fmt: skip


def _stop(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the node's gcs, raylet, agents share its group
    except ProcessLookupError:
        pass
    proc.wait(timeout=30)


def _wait_for(predicate, what: str, timeout: float = 120.0) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise TimeoutError(f"{what} did not happen within {timeout:.0f} s")
        time.sleep(0.5)


@pytest.fixture(scope="module")
def two_nodes():
    """Head (1 CPU) + a second node (1 CPU, resource "second") on 127.0.0.1; the driver connected;
    yields (ray, [head process, node process]); all torn down."""
    import ray

    if ray.is_initialized():
        ray.shutdown()
    temp = Path(tempfile.mkdtemp(prefix="ptray2-"))
    env = {
        k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER")
    }
    env.update(RAY_AUTH_MODE="disabled", RAY_USAGE_STATS_ENABLED="0",
               PYTHONPATH=os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]))  # fmt: skip
    port = _free_port()
    address = f"127.0.0.1:{port}"
    procs: list[subprocess.Popen] = []
    saved = {k: os.environ.get(k) for k in ("RAY_AUTH_MODE", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER")}
    try:
        procs.append(_start(["--head", "--node-ip-address=127.0.0.1", f"--port={port}", "--num-cpus=1",
                             "--num-gpus=0", "--include-dashboard=false", f"--temp-dir={temp}",
                             "--disable-usage-stats"], env, temp / "head.log"))  # fmt: skip
        _wait_for(lambda: "Ray runtime started" in (temp / "head.log").read_text(), "the head node start")
        procs.append(_start([f"--address={address}", "--num-cpus=1", "--num-gpus=0", '--resources={"second": 1}'],
                            env, temp / "node.log"))  # fmt: skip
        os.environ["RAY_AUTH_MODE"] = "disabled"
        os.environ.pop("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", None)
        ray.init(address=address, log_to_driver=False, logging_level="ERROR")
        _wait_for(lambda: sum(n["Alive"] for n in ray.nodes()) == 2, "the second node joining")
        yield ray, procs
    finally:
        if ray.is_initialized():
            ray.shutdown()
        for proc in reversed(procs):
            _stop(proc)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        shutil.rmtree(temp, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster_ws(tmp_path_factory):
    ws = make_workspace(tmp_path_factory.mktemp("cluster"), {"p": 20, "q": 20, "r": 8, "s": 8})
    r = posetrack("run", "p.mp4", "q.mp4", "r.mp4", "s.mp4", "-c", "tiny.yaml", "-o", "seq", "-q", cwd=ws)
    assert r.returncode == 0, r.stderr
    return ws


def test_videos_spread_over_two_nodes(cluster_ws, two_nodes):
    ws = cluster_ws
    config = load_config(str(ws / "tiny.yaml"))
    videos = [ws / f"{n}.mp4" for n in "pqrs"]
    report = run_many(videos, config, ws / "dist", workers=2, cpus_per_worker=1, summary=False)
    assert [r.status for r in report.results] == ["done"] * 4
    assert report.nodes == 2
    assert len({r.node_id for r in report.results}) == 2  # one 1-CPU worker per node, both busy
    assert result_files(ws / "dist") == result_files(ws / "seq")


def test_a_lost_node_costs_only_its_video(cluster_ws, two_nodes):
    """Kill the whole second node (its Ray processes and its worker) in the middle of a video: the
    video is redone on the head node's worker and every output is complete and correct. (Last in
    the module: the cluster has one node afterwards.)"""
    ray, procs = two_nodes
    ws = cluster_ws
    (second,) = [n["NodeID"] for n in ray.nodes() if n["Alive"] and "second" in n["Resources"]]
    killed: dict = {}

    def kill_node(progress):
        for w in progress.workers:
            if not killed and w.node_id == second and w.item is not None and w.frames >= 2:
                killed.update(item=w.item)
                os.killpg(procs[1].pid, signal.SIGKILL)
                os.kill(w.pid, signal.SIGKILL)

    config = load_config(str(ws / "tiny.yaml"))
    videos = [ws / f"{n}.mp4" for n in "pqrs"]  # the long ones first: one on each node
    report = run_many(videos, config, ws / "lost", workers=2, on_progress=kill_node, summary=False)
    assert killed, "the second node's worker was never seen mid-video"
    assert [r.status for r in report.results] == ["done"] * 4
    (redone,) = [r for r in report.results if r.item == killed["item"]]
    assert redone.attempts == 2 and redone.node_id != second
    assert result_files(ws / "lost") == result_files(ws / "seq")
