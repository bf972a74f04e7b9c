"""Signals during `posetrack run` (real processes): SIGINT, SIGTERM and SIGHUP end with one line, a
non-zero exit code and no partial file; the temps a SIGKILL leaves are removed by the next run."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from posetrack.synthetic import SyntheticScene, crossing_scene, write_video

from ._cli import TINY, posetrack, spawn


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    root = tmp_path_factory.mktemp("signals")
    (root / "tiny.yaml").write_text(TINY)
    scene = crossing_scene(num_frames=300)
    small = SyntheticScene(scene.people, 160, 120, 300, scene.pan, margin=0.4, seed=3)  # long but cheap
    write_video(small.images(), root / "long.mp4")
    return root


def _start_and_wait_for_temps(ws: Path, out: Path):
    p = spawn("run", "long.mp4", "-c", "tiny.yaml", "-o", out, "-q", cwd=ws)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        if out.is_dir() and any(".part" in n.name for n in out.iterdir()):
            return p
        if p.poll() is not None:
            pytest.fail(f"run ended before writing (rc {p.returncode}): {p.stderr.read()}")
        time.sleep(0.05)
    p.kill()
    pytest.fail("no temp file appeared")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=lambda s: s.name)
def test_signal_mid_run_leaves_nothing(ws, tmp_path, sig):
    out = tmp_path / "out"
    p = _start_and_wait_for_temps(ws, out)
    time.sleep(0.3)  # well inside the frame loop
    p.send_signal(sig)
    stdout, stderr = p.communicate(timeout=120)
    lines = stderr.strip().splitlines()
    assert p.returncode == 128 + sig, stderr
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    assert sig.name in lines[0] and lines[0].startswith("posetrack: error: interrupted"), lines[0]
    assert not out.exists() or list(out.iterdir()) == []  # complete files or none: here none


def test_sigkill_temps_are_removed_by_the_next_run(ws, tmp_path):
    out = tmp_path / "out"
    p = _start_and_wait_for_temps(ws, out)
    p.kill()
    p.communicate(timeout=60)
    stale = sorted(n.name for n in out.iterdir() if ".part" in n.name)
    assert stale and all(f".posetrack-{p.pid}-" in n for n in stale)
    write_video(crossing_scene(num_frames=3).images(), ws / "short.mp4")
    r = posetrack("run", "short.mp4", "-c", "tiny.yaml", "-o", out, "-q", "--formats", "csv", "--no-render", cwd=ws)
    assert r.returncode == 0, r.stderr
    assert sorted(n.name for n in out.iterdir()) == ["short.csv", "short.report.html"]
