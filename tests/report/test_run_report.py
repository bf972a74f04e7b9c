"""The run report of a synthetic run: its numbers, its images, and rebuilding it from the results."""

from __future__ import annotations

import json

import cv2
import pytest
from click.testing import CliRunner

import posetrack.cli.commands  # noqa: F401  (registers the subcommands)
from posetrack import Pipeline, load_config
from posetrack.cli.main import cli
from posetrack.runner import process_video
from posetrack.synthetic import FlakyDetector, OraclePoseEstimator, SyntheticScene
from tests.report._page import parse_page

NUM_FRAMES = 60


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Five walkers who leave and come back: tracks start and end during the run."""
    root = tmp_path_factory.mktemp("report")
    scene = SyntheticScene.random(seed=3, num_people=5, num_frames=NUM_FRAMES)
    frames = scene.frames()
    folder = root / "walkers"
    folder.mkdir()
    for f in frames:
        cv2.imwrite(str(folder / f"{f.index:06d}.png"), cv2.cvtColor(f.image, cv2.COLOR_RGB2BGR))
    config = load_config("default", {"device": "cpu", "output.render": False})
    pipeline = Pipeline.from_config(config, detector=FlakyDetector(frames, miss_rate=0.2, seed=1),
                                    pose=OraclePoseEstimator(frames))
    summary = process_video(pipeline, folder, root / "out", progress=False)
    return root, folder, summary


def test_report_holds_the_runs_tracks_and_frames(run):
    root, _, summary = run
    report = root / "out" / "walkers.report.html"
    assert summary.outputs["report"] == report
    data, images, _ = parse_page(report.read_text())
    results = json.loads((root / "out" / "walkers.posetrack.json").read_text())
    ids = {a["track_id"] for a in results["annotations"]}
    assert data["frames"] == NUM_FRAMES == len(results["images"])
    assert data["num_tracks"] == len(data["tracks"]) == len(ids) == summary.tracks
    assert {int(t) for t in data["tracks"]} == ids
    assert data["people"] == len(results["annotations"]) == sum(data["people_per_frame"])
    for tid, track in data["tracks"].items():  # spans cover exactly the frames the id is in
        frames = sorted(a["image_id"] % 10000 for a in results["annotations"] if a["track_id"] == int(tid))
        covered = [f for a, b in track["spans"] for f in range(a, b + 1)]
        assert covered == frames and track["frames"] == len(frames)
    assert set(data["stage_seconds"]) >= {"decode", "detect", "pose", "track"}
    assert all(len(v) == NUM_FRAMES for v in data["stage_seconds_per_frame"].values())
    assert abs(sum(data["stage_seconds"].values()) - sum(summary.stage_seconds.values())) < 1e-3
    assert data["summary"] == summary.line() and "tracker:" in data["config"]
    # 5 plots, then key frames: the first, the last, and frames where tracks start or end
    plots, thumbs = images[:5], images[5:]
    assert all(p.shape[1] > 400 for p in plots)
    assert 3 <= len(thumbs) <= 10 and all(t.shape[1] == 240 for t in thumbs)


def test_report_rebuilt_from_the_results_file(run, tmp_path):
    root, folder, _ = run
    original, _, _ = parse_page((root / "out" / "walkers.report.html").read_text())
    out = tmp_path / "again.html"
    r = CliRunner().invoke(cli, ["report", str(root / "out" / "walkers.posetrack.json"), "--video", str(folder),
                                 "-o", str(out)])
    assert r.exit_code == 0, r.output
    data, images, _ = parse_page(out.read_text())
    for key in ("frames", "frame_indices", "tracks", "people_per_frame", "num_tracks"):
        assert data[key] == original[key], key
    assert data["timestamps"] == original["timestamps"]
    assert len(images) > 5  # key frames drawn from the video
    # without the video: the same numbers, no key frames
    r = CliRunner().invoke(cli, ["report", str(root / "out" / "walkers.posetrack.json"), "-o", str(tmp_path / "b.html")])
    assert r.exit_code == 0, r.output
    data, images, _ = parse_page((tmp_path / "b.html").read_text())
    assert data["tracks"] == original["tracks"] and len(images) == 5


@pytest.mark.parametrize("content", ['[{"image_id": 1, "keypoints": []}]', '{"images": [], "x": 1}', "not json",
                                     '{"images": [{"id": 1}], "annotations": [{"image_id": 2}], "categories": []}'])
def test_report_of_a_file_that_is_not_posetracks(tmp_path, content):
    bad = tmp_path / "other.json"
    bad.write_text(content)
    r = CliRunner().invoke(cli, ["report", str(bad)])
    assert r.exit_code == 2
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and "other.json" in lines[0] and "Traceback" not in r.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.json"]


def test_an_existing_report_is_not_replaced(run):
    root, _, _ = run
    existing = root / "out" / "walkers.report.html"
    r = CliRunner().invoke(cli, ["report", str(root / "out" / "walkers.posetrack.json")])
    assert r.exit_code == 2 and "exists already" in r.output and existing.stat().st_size > 0
