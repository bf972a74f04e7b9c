"""Faults and bad input across commands (issue 10): each ends with one line naming the problem,
exit code 2, no traceback and no partial output; concurrent and colliding runs never lose a file."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from posetrack.errors import OutputError
from posetrack.synthetic import crossing_scene, write_video

from ._cli import TINY, one_line_error, posetrack, spawn, subprocess_env

OUTPUTS = ["clip.annotated.mp4", "clip.coco.json", "clip.csv", "clip.jsonl", "clip.posetrack.json", "clip.report.html"]


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    root = tmp_path_factory.mktemp("faults")
    (root / "tiny.yaml").write_text(TINY)
    write_video(crossing_scene(num_frames=8).images(), root / "clip.mp4")
    return root


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# -- click usage errors: one line, exit 2 -------------------------------------------------------------


@pytest.mark.parametrize("args, words", [
    (["run", "clip.mp4", "--stride", "two"], ["'two' is not a valid integer"]),
    (["run"], ["no videos: give one or more VIDEOS or --list"]),
    (["run", "clip.mp4", "--bogus"], ["--bogus"]),
    (["track", ".", "-o", "x.json"], ["is a directory"]),
    (["eval", "posetrack"], ["Missing argument"]),
])  # fmt: skip
def test_usage_errors_are_one_line(ws, args, words):
    one_line_error(posetrack(*args, cwd=ws), *words)


# -- config values -------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["video.start", "detector.score_threshold", "tracker.similarity_threshold"])
@pytest.mark.parametrize("value", [".nan", ".inf"])
def test_non_finite_config_values_are_rejected(ws, tmp_path, key, value):
    out = tmp_path / "out"
    r = posetrack("run", "clip.mp4", "-c", "tiny.yaml", "-o", out, "-q", "--set", f"{key}={value}", cwd=ws)
    one_line_error(r, key, "finite")
    assert not out.exists()
    one_line_error(posetrack("config", "show", "--set", f"{key}={value}", cwd=ws), key)


def test_config_file_not_utf8(ws, tmp_path):
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes("name: caf\u00e9\n".encode("latin-1"))
    one_line_error(posetrack("run", "clip.mp4", "-c", bad, "-o", tmp_path / "out", cwd=ws), "latin1.yaml", "UTF-8")
    one_line_error(posetrack("config", "show", bad, cwd=ws), "UTF-8")


@pytest.mark.parametrize("setting, words", [
    ("pose.nms_kernel=4", ["pose.nms_kernel", "odd"]),  # bottom-up only, checked for any model
    ("pose.scales=[0.5,2.0]", ["pose.scales", "1.0"]),
    ("pose.blur_kernel=8", ["pose.blur_kernel", "odd"]),
    ("pose.model=hrnet-w99", ["pose.model", "hrnet-w99"]),
    ("pose.output_layout=mpii16", ["pose.output_layout"]),
    ("output.preset=fastest", ["output.preset"]),
])  # fmt: skip
def test_every_value_checked_at_load(ws, setting, words):
    """`config show` catches them: nothing is downloaded or built first."""
    one_line_error(posetrack("config", "show", "-c", "tiny.yaml", "--set", setting, cwd=ws), *words)


@pytest.mark.parametrize("setting, words", [
    (["detector.name=file", "detector.file=nope.json"], ["nope.json", "detector.file"]),
    (["detector.name=fasterrcnn-mobilenet-v3-large-fpn", "detector.weights=nope-det.pth"], ["nope-det.pth"]),
    (["flow.name=raft-small", "flow.weights=nope-raft.pth"], ["nope-raft.pth", "flow.weights"]),
])  # fmt: skip
def test_missing_model_files_before_any_model(ws, tmp_path, setting, words, monkeypatch):
    """The pose model (first to be built) is never built when a later stage's file is missing."""
    from posetrack.pose import factory

    def no_model(*args, **kw):
        raise AssertionError("a model was built before the missing file was noticed")

    monkeypatch.setattr(factory, "build_pose_estimator", no_model)
    sets = [x for s in setting for x in ("--set", s)]
    r = posetrack("run", "clip.mp4", "-c", "tiny.yaml", "-o", tmp_path / "out", "-q", *sets, cwd=ws)
    one_line_error(r, *words)


# -- frames selected ---------------------------------------------------------------------------------------


def test_start_past_the_end(ws, tmp_path):
    out = tmp_path / "out"
    r = posetrack("run", "clip.mp4", "-c", "tiny.yaml", "-o", out, "-q", "--start", "100", cwd=ws)
    one_line_error(r, "no frames in clip.mp4 between 100 s and the end")
    assert not out.exists()


def test_start_past_the_end_without_a_frame_count(ws, tmp_path):
    """A Matroska file does not say how many frames it has: found out after the loop, and still
    nothing is left behind."""
    write_video(crossing_scene(num_frames=4).images(), ws / "clip4.mkv")
    out = tmp_path / "out"
    r = posetrack("run", "clip4.mkv", "-c", "tiny.yaml", "-o", out, "-q", "--start", "50", cwd=ws)
    one_line_error(r, "no frames in clip4.mkv between 50 s")
    assert not out.exists()


# -- output names and concurrent runs ----------------------------------------------------------------------


def test_two_videos_with_one_name_collide_before_any_work(ws, tmp_path):
    for sub in ("a", "b"):
        (ws / sub).mkdir(exist_ok=True)
        (ws / sub / "clip.mp4").write_bytes((ws / "clip.mp4").read_bytes())
    out = tmp_path / "out"
    r = posetrack("run", "a/clip.mp4", "b/clip.mp4", "-c", "tiny.yaml", "-o", out, "-q", cwd=ws)
    one_line_error(r, "a/clip.mp4 and b/clip.mp4 would both write", "different folders")
    assert not out.exists()
    r = posetrack("run", "clip.mp4", "clip.mp4", "-c", "tiny.yaml", "-o", out, "-q", cwd=ws)
    one_line_error(r, "would both write")


def test_concurrent_run_into_the_same_folder_keeps_the_first_files(ws, tmp_path):
    """Another run's files appear while this one is working: this one fails, keeps theirs, and
    removes its own temps (the final rename never replaces)."""
    from posetrack.config import load_config
    from posetrack.pipeline import Pipeline
    from posetrack.runner import process_video

    out = tmp_path / "out"
    config = load_config(str(ws / "tiny.yaml"), {"output.render": False})

    class OtherRunFinishesFirst(Pipeline):
        def run(self, source, keep_images=False):
            for i, result in enumerate(super().run(source, keep_images)):
                if i == 2:  # mid-run, the other process renames its files into place
                    for name in ("clip.coco.json", "clip.csv", "clip.jsonl", "clip.posetrack.json"):
                        (out / name).write_text("the other run's\n")
                yield result

    base = Pipeline.from_config(config)
    pipeline = OtherRunFinishesFirst(config, base.pose, base.detector, base.flow, base.tracker_factory)
    with pytest.raises(OutputError, match="appeared while this run was writing it"):
        process_video(pipeline, ws / "clip.mp4", out, progress=False)
    assert _leftovers(out) == ["clip.coco.json", "clip.csv", "clip.jsonl", "clip.posetrack.json"]
    assert all((out / n).read_text() == "the other run's\n" for n in _leftovers(out))


def test_two_processes_into_one_folder(ws, tmp_path):
    """Two real `posetrack run` at once: one succeeds, the other ends with one line; the files are
    all of the winner's run (complete JSON), no temps left."""
    out = tmp_path / "out"
    args = ("run", "clip.mp4", "-c", "tiny.yaml", "-o", out, "-q", "--no-render", "--formats", "posetrack,csv")
    procs = [spawn(*args, cwd=ws) for _ in range(2)]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    for p in procs:
        p.stdout.close()
        p.stderr.close()
    codes = sorted(code for code, _ in results)
    assert codes[0] == 0, results
    assert _leftovers(out) == ["clip.csv", "clip.posetrack.json", "clip.report.html"]
    json.loads((out / "clip.posetrack.json").read_text())
    if codes[1] != 0:  # they overlapped (usual): the loser said so in one line
        err = [e for c, e in results if c != 0][0].strip().splitlines()
        assert codes[1] == 2 and len(err) == 1, err
        assert "exists already" in err[0] or "appeared while this run was writing it" in err[0]


# -- write errors ---------------------------------------------------------------------------------------


def _limit_file_size(limit: int):
    def preexec():  # SIGXFSZ is ignored by Python, so writes past the limit fail with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    return preexec


@pytest.mark.parametrize("render", ["--render", "--no-render"])
def test_file_too_large_is_one_line_and_leaves_nothing(ws, tmp_path, render):
    out = tmp_path / "out"
    p = spawn("run", "clip.mp4", "-c", "tiny.yaml", "-o", out, "-q", render, cwd=ws,
              preexec_fn=_limit_file_size(400))  # below a CSV header: the run cannot complete
    stdout, stderr = p.communicate(timeout=300)
    lines = stderr.strip().splitlines()
    assert p.returncode == 2 and len(lines) == 1 and "Traceback" not in stderr, stderr
    assert "could not be written" in lines[0] and "larger than allowed" in lines[0], lines[0]
    assert _leftovers(out) == []


def test_disk_full_in_a_result_writer(ws, tmp_path, monkeypatch):
    import errno

    from posetrack import outputs

    def full(self, result):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(outputs.JsonLinesWriter, "add", full)
    out = tmp_path / "out"
    r = posetrack("run", "clip.mp4", "-c", "tiny.yaml", "-o", out, "-q", cwd=ws)
    one_line_error(r, "clip.jsonl", "disk is full")
    assert not out.exists()


def test_track_into_a_folder_that_cannot_be_written(ws, tmp_path):
    poses = tmp_path / "poses.json"
    poses.write_text(json.dumps([{"image_id": 0, "category_id": 1, "score": 0.9,
                                  "keypoints": [10.0, 10.0, 0.9] * 17}]))
    if os.geteuid() == 0:  # root writes anywhere a mode allows nothing; /proc refuses even root
        target = Path("/proc/posetrack-test-tracked.json")
    else:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o555)
        target = locked / "tracked.json"
    r = posetrack("track", poses, "-o", target, cwd=ws)
    one_line_error(r, str(target.parent), "be written")
    assert not target.exists()


# -- eval posetrack ------------------------------------------------------------------------------------------


def test_eval_posetrack_warns_and_never_replaces_the_json(tmp_path):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "evaluation"))
    try:
        import builders
    finally:
        sys.path.pop(0)
    gt = builders.sequence([[builders.person(1)], [builders.person(1, shift=(2, 0))]])
    gt["annotations"].append(dict(builders.person(7), image_id=424242, id=99))  # names no image
    builders.write(tmp_path / "gt", "000001_mpii_test", gt)
    builders.write(tmp_path / "pr", "000001_mpii_test", builders.sequence([[builders.person(3)], [builders.person(3)]]))
    builders.write(tmp_path / "pr", "000002_mpii_test", builders.sequence([[builders.person(3)]]))  # no GT
    metrics = tmp_path / "metrics.json"
    metrics.write_text("mine")
    r = posetrack("eval", "posetrack", tmp_path / "gt", tmp_path / "pr", "--json", metrics, cwd=tmp_path)
    one_line_error(r, "metrics.json", "exists already", "--overwrite")
    assert metrics.read_text() == "mine"
    r = posetrack("eval", "posetrack", tmp_path / "gt", tmp_path / "pr", "--json", metrics, "--overwrite",
                  cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    warnings = [ln for ln in r.stderr.splitlines() if "WARNING" in ln]
    assert len([w for w in warnings if "000002_mpii_test.json" in w and "no ground truth" in w]) == 1
    assert len([w for w in warnings if "424242" in w and "name no image" in w]) == 1
    assert "total" in json.loads(metrics.read_text()) or json.loads(metrics.read_text())


def test_main_entry_point_usage_error_as_a_process(ws):
    """The installed entry point (not only CliRunner) prints one line for a usage error."""
    r = subprocess.run([sys.executable, "-m", "posetrack.cli", "run", "clip.mp4", "--stride", "two"],
                       cwd=ws, env=subprocess_env(), capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and r.stderr.strip().count("\n") == 0, r.stderr
    assert r.stderr.startswith("posetrack: error:")
