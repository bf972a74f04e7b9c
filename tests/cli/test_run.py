"""`posetrack run` end to end with a tiny random model, and every bad input of the foundation issue:
one line on stderr naming the problem, exit code 2, no traceback, no output left behind."""

from __future__ import annotations

import json

import av
import pytest

from posetrack.synthetic import crossing_scene, write_video

from ._cli import TINY, posetrack


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    (root / "tiny.yaml").write_text(TINY)
    write_video(crossing_scene(num_frames=12).images(), root / "clip.mp4")
    return root


def test_run_end_to_end(workspace):
    out = workspace / "out"
    r = posetrack("run", "clip.mp4", "-c", "tiny.yaml", "-o", out, "-q", cwd=workspace)
    assert r.returncode == 0, r.stderr
    names = sorted(p.name for p in out.iterdir())
    assert names == ["clip.annotated.mp4", "clip.coco.json", "clip.csv", "clip.jsonl", "clip.posetrack.json",
                     "clip.report.html"]
    pt = json.loads((out / "clip.posetrack.json").read_text())
    assert len(pt["images"]) == 12
    assert "clip.mp4: 12 frames" in r.stderr
    # the same outputs again: refused without --overwrite, replaced with it
    again = posetrack("run", "clip.mp4", "-c", "tiny.yaml", "-o", out, "-q", cwd=workspace)
    assert again.returncode == 2 and "output exists already" in again.stderr
    again = posetrack("run", "clip.mp4", "-c", "tiny.yaml", "-o", out, "-q", "--overwrite",
                      "--formats", "csv", "--no-render", "--stride", "3", cwd=workspace)
    assert again.returncode == 0, again.stderr
    assert len((out / "clip.csv").read_text().splitlines()) >= 1


def _bad(workspace, tmp_path, args, expected):
    out = tmp_path / "out"
    r = posetrack("run", *args, "-c", "tiny.yaml", "-o", out, "-q", cwd=workspace)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    assert expected in lines[0]
    assert not out.exists()


def test_missing_path(workspace, tmp_path):
    _bad(workspace, tmp_path, ["nope.mp4"], "nope.mp4")


def test_empty_file(workspace, tmp_path):
    (workspace / "empty.mp4").write_bytes(b"")
    _bad(workspace, tmp_path, ["empty.mp4"], "empty.mp4")


def test_not_a_video(workspace, tmp_path):
    (workspace / "notes.mp4").write_text("this is not a video\n" * 50)
    _bad(workspace, tmp_path, ["notes.mp4"], "notes.mp4")


def test_unknown_config_key(workspace, tmp_path):
    _bad(workspace, tmp_path, ["clip.mp4", "--set", "pose.flip_tset=true"], "pose.flip_tset")


def test_invalid_config_value(workspace, tmp_path):
    _bad(workspace, tmp_path, ["clip.mp4", "--set", "tracker.memory=-1"], "tracker.memory")


def test_explicit_nvenc_without_nvidia_is_one_line_and_no_output(workspace, tmp_path):
    """output.encoder h264_nvenc where it cannot open (no NVIDIA GPU here): refused in the preflight,
    one line naming the encoder, exit 2, no output folder; ``auto`` falls back to libx264 silently."""
    from posetrack.video.writer import encoder_problem

    if encoder_problem("h264_nvenc") is None:  # a machine with NVENC: the run uses it
        out = tmp_path / "nv"
        r = posetrack("run", "clip.mp4", "-c", "tiny.yaml", "-o", out, "-q", "--formats", "csv", "--no-report",
                      "--set", "output.encoder=h264_nvenc", cwd=workspace)
        assert r.returncode == 0, r.stderr
        with av.open(str(out / "clip.annotated.mp4")) as c:
            assert sum(1 for _ in c.decode(video=0)) == 12
    else:
        _bad(workspace, tmp_path, ["clip.mp4", "--set", "output.encoder=h264_nvenc"], "h264_nvenc")
    out = tmp_path / "auto"
    r = posetrack("run", "clip.mp4", "-c", "tiny.yaml", "-o", out, "-q", "--formats", "csv", "--no-report",
                  "--set", "output.encoder=auto", cwd=workspace)
    lines = r.stderr.strip().splitlines()  # nothing said about the fallback: only the summary
    assert r.returncode == 0 and len(lines) == 1 and lines[0].startswith("clip.mp4: 12 frames"), r.stderr
    with av.open(str(out / "clip.annotated.mp4")) as c:
        assert c.streams.video[0].codec_context.name == "h264"
        assert sum(1 for _ in c.decode(video=0)) == 12


def test_output_folder_not_writable(workspace, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = posetrack("run", "clip.mp4", "-c", "tiny.yaml", "-o", blocker / "sub", "-q", cwd=workspace)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert "cannot be written" in r.stderr


def test_help_and_version(workspace):
    r = posetrack("--help", cwd=workspace)
    assert r.returncode == 0
    for command in ("run", "config", "eval", "track", "weights", "benchmark"):
        assert command in r.stdout
    assert posetrack("--version", cwd=workspace).stdout.startswith("posetrack, version")


def test_run_bottom_up_preset(workspace):
    """`--config higherhrnet-w32-512` runs the bottom-up path (no detector); here with the tiny
    test network of the same family and random weights."""
    out = workspace / "out-bu"
    r = posetrack("run", "clip.mp4", "-c", "higherhrnet-w32-512", "-o", out, "-q", "--device", "cpu",
                  "--set", "pose.model=higherhrnet-w8-128", "--set", "pose.weights=null",
                  "--set", "pose.refine=false", "--no-render", cwd=workspace)
    assert r.returncode == 0, r.stderr
    pt = json.loads((out / "clip.posetrack.json").read_text())
    assert len(pt["images"]) == 12
    assert pt["categories"][0]["keypoints"][0] == "nose"


def test_several_videos_one_after_the_other(workspace):
    write_video(crossing_scene(num_frames=6).images(), workspace / "second.mp4")
    out = workspace / "out-many"
    r = posetrack("run", "clip.mp4", "second.mp4", "-c", "tiny.yaml", "-o", out, "-q",
                  "--formats", "jsonl", "--no-render", "--no-report", cwd=workspace)
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in out.iterdir()) == ["clip.jsonl", "second.jsonl"]
    summaries = [line for line in r.stderr.splitlines() if " frames, " in line]
    assert [s.split(":")[0] for s in summaries] == ["clip.mp4", "second.mp4"]
    assert "12 frames" in summaries[0] and "6 frames" in summaries[1]


def test_weights_file_and_mismatched_checkpoint(workspace, tmp_path):
    import torch

    from posetrack.pose import build_model

    good, wrong = tmp_path / "tiny.pth", tmp_path / "bottomup.pth"
    torch.save(build_model("hrnet-w8-128x96").state_dict(), good)
    torch.save(build_model("higherhrnet-w8-128").state_dict(), wrong)
    out = tmp_path / "out"
    r = posetrack("run", "clip.mp4", "-c", "tiny.yaml", "-o", out, "-q", "--no-render",
                  "--formats", "csv", "--weights", good, cwd=workspace)
    assert r.returncode == 0, r.stderr
    assert (out / "clip.csv").exists()
    out2 = tmp_path / "out2"
    r = posetrack("run", "clip.mp4", "-c", "tiny.yaml", "-o", out2, "-q", "--weights", wrong, cwd=workspace)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "bottomup.pth" in r.stderr and "final_layer" in r.stderr
    assert not out2.exists()
