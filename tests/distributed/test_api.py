"""``posetrack run --workers`` and ``run_many`` on a real local Ray instance (2 CPUs): the same
bytes as a sequential run, a corrupt video failing alone, re-runs skipping finished videos, a
killed worker costing only its video, and the one-line errors."""

from __future__ import annotations

import json
import os
import signal
import sys

import pytest

from posetrack.config import load_config
from posetrack.distributed import run_many
from tests.cli._cli import posetrack
from tests.distributed.conftest import LENGTHS, make_workspace, result_files


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    root = make_workspace(tmp_path_factory.mktemp("dist"), LENGTHS)
    (root / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 200)
    r = posetrack("run", "a.mp4", "b.mp4", "c.mp4", "-c", "tiny.yaml", "-o", "seq", "-q", cwd=root)
    assert r.returncode == 0, r.stderr
    return root


def test_workers_equal_sequential_and_corrupt_video_fails_alone(ws, local_ray):
    (ws / "videos.txt").write_text("# clips\nb.mp4\nbroken.mp4\nc.mp4\n")
    args = ("run", "a.mp4", "--list", "videos.txt", "-c", "tiny.yaml", "-o", "dist", "--workers", "2")
    r = posetrack(*args, "-q", cwd=ws)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    failed = [line for line in lines if line.startswith("posetrack: failed:")]
    assert len(failed) == 1 and str(ws / "broken.mp4") in failed[0], r.stderr
    assert "4 videos: 3 done, 0 skipped, 1 failed" in r.stderr
    assert lines[-1] == "posetrack: error: 1 of 4 videos failed (listed above)"
    assert result_files(ws / "dist") == result_files(ws / "seq")  # byte for byte, nothing of broken.mp4
    (summary,) = (ws / "dist" / "runs").iterdir()
    videos = {os.path.basename(v["item"]): v for v in json.loads(summary.read_text())["videos"]}
    assert videos["broken.mp4"]["status"] == "failed" and "broken.mp4" in videos["broken.mp4"]["error"]
    for name, n in LENGTHS.items():
        v = videos[f"{name}.mp4"]
        assert v["status"] == "done" and v["frames"] == n and v["node"] == "127.0.0.1"
        assert v["seconds"] > 0 and v["fps"] == pytest.approx(n / v["seconds"], rel=1e-3)

    # the same command again (without -q, which hides the info lines): finished videos are skipped,
    # the broken one fails again
    before = {p.name: p.stat().st_mtime_ns for p in (ws / "dist").iterdir() if p.is_file()}
    again = posetrack(*args, cwd=ws)
    assert again.returncode == 2
    assert "skipped 3 videos with complete outputs" in again.stderr
    assert "4 videos: 0 done, 3 skipped, 1 failed" in again.stderr
    assert {p.name: p.stat().st_mtime_ns for p in (ws / "dist").iterdir() if p.is_file()} == before


def test_killed_worker_costs_only_its_video(ws, local_ray, tmp_path):
    """SIGKILL the process of a worker in the middle of a video: the video is redone from the start
    on another worker, every output is complete and equal to the sequential run's, no temp file is
    left, and the other videos ran once."""
    config = load_config(str(ws / "tiny.yaml"))
    killed: dict = {}

    def kill_once(progress):
        for w in progress.workers:
            if not killed and w.item is not None and w.frames >= 2 and w.pid is not None:
                killed.update(item=w.item, pid=w.pid, frames=w.frames)
                os.kill(w.pid, signal.SIGKILL)

    videos = [ws / "c.mp4", ws / "a.mp4", ws / "b.mp4"]
    report = run_many(videos, config, tmp_path / "out", workers=2, on_progress=kill_once, summary=False)
    assert killed, "no worker was seen mid-video"
    by_item = {os.path.basename(r.item): r for r in report.results}
    assert all(r.status == "done" for r in report.results), report.results
    assert by_item[os.path.basename(killed["item"])].attempts == 2
    assert sorted(r.attempts for r in report.results) == [1, 1, 2]
    assert result_files(tmp_path / "out") == result_files(ws / "seq")
    assert report.summary_path is None


def test_rerun_with_some_outputs_missing_is_refused_per_video(ws, local_ray, tmp_path):
    """A video with some but not all outputs is not ours to complete (unless --overwrite)."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.csv").write_text("mine\n")
    config = load_config(str(ws / "tiny.yaml"))
    report = run_many([ws / "a.mp4"], config, out, workers=1, summary=False)
    (r,) = report.results
    assert r.status == "failed" and "a.csv: output exists already" in r.error
    assert (out / "a.csv").read_text() == "mine\n"
    with pytest.raises(Exception) as e:
        report.raise_for_failures()
    assert getattr(e.value, "exit_code", None) == 2


def test_shared_filesystem_check_names_the_node(local_ray, tmp_path):
    from posetrack.distributed.cluster import check_shared_paths
    from posetrack.errors import InputError

    with pytest.raises(InputError) as e:
        check_shared_paths(local_ray, [tmp_path / "not-mounted.mp4"], tmp_path)
    msg = str(e.value)
    assert "node 127.0.0.1 cannot read input" in msg and "not-mounted.mp4" in msg and "\n" not in msg


def test_without_ray_one_line_says_what_to_install(ws, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    r = posetrack("run", "a.mp4", "-c", "tiny.yaml", "-o", "none", "--workers", "2", cwd=ws)
    assert r.returncode == 2
    expected = 'posetrack: error: distributed runs (--workers, --ray) need Ray: pip install "posetrack[ray]"'
    assert r.stderr.strip().splitlines() == [expected]
    assert not (ws / "none").exists()


def test_list_file_and_glob(ws):
    from posetrack.cli.cluster_options import read_list
    from posetrack.errors import InputError

    (ws / "l.txt").write_text("a.mp4\n\n# skip\n  b.mp4 \n")
    assert [str(p) for p in read_list(str(ws / "l.txt"))] == ["a.mp4", "b.mp4"]
    assert [p.name for p in read_list(str(ws / "[ab].mp4"))] == ["a.mp4", "b.mp4"]
    with pytest.raises(InputError, match="matches no files"):
        read_list(str(ws / "*.mkv"))


def test_benchmark_distributed_equals_sequential_and_resumes(ws, local_ray):
    """``benchmark posetrack --workers 2``: the same prediction files and metrics as one process;
    a re-run with one prediction missing predicts that one only, then evaluates."""
    from posetrack.evaluation import synthetic_dataset as sd

    data = ws / "pt"
    sd.write_dataset(str(data), sd.generate_sequences(n_sequences=3, n_frames=6, n_people=2, seed=4))
    args = ["benchmark", "posetrack", "--root", data, "--gt-boxes", "-c", "tiny.yaml", "-q"]
    seq = posetrack(*args, "--out", "bench-seq", cwd=ws)
    assert seq.returncode == 0, seq.stderr
    dist = posetrack(*args, "--out", "bench-dist", "--workers", "2", cwd=ws)
    assert dist.returncode == 0, dist.stderr
    assert "3 sequences: 3 done, 0 skipped, 0 failed" in dist.stderr
    assert dist.stdout == seq.stdout  # the metric tables
    assert result_files(ws / "bench-dist") == result_files(ws / "bench-seq")
    first = min((ws / "bench-dist").glob("*.json"))
    first.unlink()
    again = posetrack(*args, "--out", "bench-dist", "--workers", "2", cwd=ws)
    assert again.returncode == 0, again.stderr
    assert "1 sequences: 1 done" in again.stderr and "(1 run, 2 resumed)" in again.stderr
    assert again.stdout == seq.stdout
    assert result_files(ws / "bench-dist") == result_files(ws / "bench-seq")
