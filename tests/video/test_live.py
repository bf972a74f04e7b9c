"""Live sources: an HTTP stream from 127.0.0.1 tracked like the file it serves, a stream cut off,
real-time frame dropping, --duration, Ctrl-C mid-run, bad stream URLs and cameras, and JSON Lines
on stdout while the run goes on."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import pytest
from click.testing import CliRunner

import posetrack.cli.commands  # noqa: F401  (registers the subcommands)
from posetrack import Pipeline, load_config
from posetrack.cli.main import cli
from posetrack.report.html import read_embedded_data
from posetrack.runner import process_video
from posetrack.synthetic import OraclePoseEstimator, crossing_scene, write_video
from posetrack.video.live import LiveFeed, live_input, live_stem
from tests.video._streams import StreamServer

REPO = Path(__file__).resolve().parents[2]
FRAMES = 24
SHORT = 16  # frames through the real (tiny) model in a subprocess


def _detections(scene_frames, path: Path) -> Path:
    """The scene's true boxes as a detections file (detector 'file': a real stage, no model)."""
    dets = [{"image_id": f.index, "bbox": [float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])],
             "score": 0.9, "category_id": 1} for f in scene_frames for b in f.boxes]
    path.write_text(json.dumps(dets))
    return path


def _tiny_yaml(root: Path, dets: Path) -> Path:
    path = root / "tiny.yaml"
    path.write_text(f"""\
base: default
device: cpu
detector: {{name: file, file: {dets}}}
flow: {{name: none}}
pose: {{model: hrnet-w8-128x96, weights: null, flip_test: false}}
output: {{render: false}}
""")
    return path


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    root = tmp_path_factory.mktemp("live")
    frames = crossing_scene(num_frames=120).frames()
    write_video([f.image for f in frames[:FRAMES]], root / "clip.ts")
    write_video([f.image for f in frames], root / "long.ts")
    write_video([f.image for f in frames[:SHORT]], root / "short.ts")
    dets = _detections(frames, root / "dets.json")
    with StreamServer(root) as server:
        yield root, server, _tiny_yaml(root, dets), frames


def _oracle_pipeline(frames, pose_cls=OraclePoseEstimator, fps: float | None = None, **output):
    """Ground-truth boxes and poses (seeded noise; frames found by their bytes, else in call order,
    so a fresh pipeline gives the same results for the same decoded frames). ``fps``: the frame
    rate assumed for image folders."""
    from posetrack.synthetic import FlakyDetector

    output = {"output.render": False, **{f"output.{k}": v for k, v in output.items()}}
    config = load_config("default", {"device": "cpu", **output, **({"video.fps": fps} if fps else {})})
    return Pipeline.from_config(config, detector=FlakyDetector(frames, miss_rate=0.0), pose=pose_cls(frames))


def test_http_stream_is_tracked_like_the_same_file(media, tmp_path):
    root, server, _, frames = media
    from_file = process_video(_oracle_pipeline(frames), root / "clip.ts", tmp_path / "file", progress=False)
    from_url = process_video(_oracle_pipeline(frames), server.url("clip.ts"), tmp_path / "url", progress=False)
    assert from_url.frames == from_file.frames == FRAMES and from_url.people > 0
    for name in ("clip.jsonl", "clip.csv", "clip.posetrack.json"):
        assert (tmp_path / "url" / name).read_bytes() == (tmp_path / "file" / name).read_bytes(), name
    report = read_embedded_data((tmp_path / "url" / "clip.report.html").read_text())
    assert report["frames"] == FRAMES


def test_stream_that_stops_midway_keeps_what_arrived(media, tmp_path, caplog):
    _, server, _, frames = media
    with caplog.at_level(logging.WARNING, logger="posetrack"):
        summary = process_video(_oracle_pipeline(frames), server.url("cut/clip.ts"), tmp_path / "out", progress=False)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "stream stopped" in warnings[0].getMessage()
    assert 0 < summary.frames < FRAMES
    results = json.loads((tmp_path / "out" / "clip.posetrack.json").read_text())
    assert len(results["images"]) == summary.frames
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("source, message", [
    ("http://127.0.0.1:9/clip.ts", "cannot open the stream"),
    ("STREAM/missing.ts", "cannot open the stream (Server returned 404"),
    ("webcam:7", "webcam:7"),
    ("/dev/video7", "/dev/video7"),
    ("gopher://example/x", "unsupported stream protocol"),
])  # fmt: skip
def test_bad_live_sources_end_with_one_line(media, tmp_path, source, message):
    _, server, config, _ = media
    source = source.replace("STREAM/", server.url(""))
    out = tmp_path / "out"
    r = CliRunner().invoke(cli, ["run", source, "-c", str(config), "-o", str(out), "-q"])
    assert r.exit_code == 2, r.output
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in r.output
    assert not out.exists()


class SlowOracle(OraclePoseEstimator):
    """The oracle, taking ``delay`` seconds a frame: a pipeline slower than its source."""

    delay = 0.12

    def estimate(self, image, boxes):
        time.sleep(self.delay)
        return super().estimate(image, boxes)


@pytest.fixture(scope="module")
def folder(media, tmp_path_factory):
    """Lossless frames (so the oracle finds its ground truth), read as a 25 fps source."""
    _, _, _, frames = media
    path = tmp_path_factory.mktemp("seq") / "walk"
    path.mkdir()
    for f in frames[:50]:
        cv2.imwrite(str(path / f"{f.index:06d}.png"), cv2.cvtColor(f.image, cv2.COLOR_RGB2BGR))
    return path, frames[:50]


def test_realtime_drops_frames_it_cannot_process_in_time(folder, tmp_path):
    path, frames = folder
    pipeline = _oracle_pipeline(frames, SlowOracle, report=False, formats=["posetrack", "jsonl"])
    summary = process_video(pipeline, path, tmp_path / "out", progress=False, realtime=True)
    assert summary.dropped > 0 and summary.frames + summary.dropped == len(frames)
    assert f"{summary.dropped} dropped" in summary.line()
    rows = [json.loads(line) for line in (tmp_path / "out" / "walk.jsonl").read_text().splitlines()]
    kept = sorted({r["frame"] for r in rows})
    assert len(kept) == summary.frames and kept[-1] - kept[0] + 1 > len(kept)  # gaps where frames dropped
    assert all(abs(r["timestamp"] - r["frame"] / 25) < 1e-6 for r in rows)  # the source's timestamps
    images = json.loads((tmp_path / "out" / "walk.posetrack.json").read_text())["images"]
    assert [im["frame_index"] for im in images] == kept


def test_realtime_keeps_every_frame_when_the_pipeline_keeps_up(folder, tmp_path):
    path, frames = folder
    # 8 fps: a frame every 125 ms, several times what the oracle pipeline needs even on a busy CI machine.
    summary = process_video(_oracle_pipeline(frames[:20], fps=8.0), path, tmp_path / "out", progress=False,
                            realtime=True, duration=2.5)
    assert summary.dropped == 0 and summary.frames == 20 and summary.ended_by == "duration"


def test_ctrl_c_during_a_live_run_leaves_complete_outputs(media, tmp_path):
    """SIGINT (as Ctrl-C sends it) once the first frames are written: the run ends cleanly."""
    assert threading.current_thread() is threading.main_thread()  # where signals are delivered
    _, server, _, frames = media
    pipeline = _oracle_pipeline(frames)
    out = tmp_path / "out"

    def interrupt_when_running() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            parts = list(out.glob(".long.jsonl.*")) if out.exists() else []
            if parts and parts[0].stat().st_size > 0:  # JSON Lines are flushed per frame
                os.kill(os.getpid(), signal.SIGINT)
                return
            time.sleep(0.05)

    killer = threading.Thread(target=interrupt_when_running, daemon=True)
    killer.start()
    summary = process_video(pipeline, server.url("paced/long.ts?seconds=6"), out, progress=False)
    killer.join()
    assert summary.ended_by == "interrupt" and "stopped by Ctrl-C" in summary.line()
    assert 0 < summary.frames < 120
    names = sorted(p.name for p in out.iterdir())
    assert names == ["long.coco.json", "long.csv", "long.jsonl", "long.posetrack.json", "long.report.html"]
    results = json.loads((out / "long.posetrack.json").read_text())
    assert len(results["images"]) == summary.frames
    assert len((out / "long.jsonl").read_text().splitlines()) == len(results["annotations"]) == summary.people
    assert read_embedded_data((out / "long.report.html").read_text())["frames"] == summary.frames


def test_json_lines_on_stdout_while_the_run_goes_on(media, tmp_path):
    _, server, config, _ = media
    cmd = [sys.executable, "-m", "posetrack.cli", "run", server.url("paced/short.ts?seconds=3"), "-c", str(config),
           "--formats", "jsonl", "-o", "-", "-q"]
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}  # a tiny model: one thread is fastest
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = json.loads(proc.stdout.readline())
        running = proc.poll() is None  # the first row came while the stream was still arriving
        rows = [first] + [json.loads(line) for line in proc.stdout]
        stderr = proc.stderr.read()
        assert proc.wait(timeout=120) == 0, stderr
    finally:
        proc.kill()
    assert running
    assert {"frame", "timestamp", "track_id", "nose_x"} <= set(first)
    assert len({r["frame"] for r in rows}) == SHORT
    assert f"short: {SHORT} frames" in stderr and "-> stdout" in stderr
    assert list(tmp_path.iterdir()) == []  # -o -: no file anywhere


def test_live_names():
    assert live_stem("rtsp://user:pw@cam.local:554/streams/front.sdp?x=1") == "front"
    assert live_stem("http://127.0.0.1:8000/") == "127.0.0.1_8000"
    assert live_input("rtsp://h/x").options["rtsp_transport"] == "tcp"
    assert live_input("clip.mp4") is None and live_input("folder/video0") is None


def test_duration_on_a_file_counts_video_seconds(folder, tmp_path):
    path, frames = folder
    with LiveFeed(_oracle_pipeline(frames).open(path), duration=0.4) as feed:  # 25 fps
        got = [f.index for f in feed]
    assert got == list(range(10)) and feed.ended_by == "duration"


def test_duration_on_a_live_stream_counts_wall_seconds(media, tmp_path):
    _, server, _, frames = media
    summary = process_video(_oracle_pipeline(frames, report=False), server.url("paced/long.ts?seconds=6"),
                            tmp_path / "out", progress=False, duration=1.0)
    assert summary.ended_by == "duration" and 0 < summary.frames < 120


@pytest.mark.parametrize("extra, message", [(["--formats", "csv"], "only JSON Lines"),
                                            (["--render"], "need an output folder")])
def test_stdout_takes_json_lines_only(media, tmp_path, extra, message):
    root, _, config, _ = media
    r = CliRunner().invoke(cli, ["run", str(root / "clip.ts"), "-c", str(config), "-o", "-", *extra])
    assert r.exit_code == 2 and message in r.output and len(r.output.strip().splitlines()) == 1
