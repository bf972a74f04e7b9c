"""The whole pipeline on synthetic scenes: Python API, runner outputs, id persistence."""

from __future__ import annotations

import inspect
import json

import av
import cv2
import numpy as np
import pytest

from posetrack import Pipeline, load_config
from posetrack.runner import process_video
from posetrack.synthetic import crossing_scene
from posetrack.testing import FlakyDetector, OraclePoseEstimator, count_id_switches
from posetrack.types import Frame


@pytest.fixture(scope="module")
def scene_frames():
    return crossing_scene(num_frames=30).frames()


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory, scene_frames):
    """The scene as a PoseTrack-style folder of numbered, lossless frames."""
    folder = tmp_path_factory.mktemp("seq") / "000342_mpii_test"
    folder.mkdir()
    for f in scene_frames:
        cv2.imwrite(str(folder / f"{f.index:06d}.png"), cv2.cvtColor(f.image, cv2.COLOR_RGB2BGR))
    return folder


def _pipeline(frames, overrides=None, **kw):
    config = load_config("default", {"device": "cpu", **(overrides or {})})
    return Pipeline.from_config(
        config,
        detector=FlakyDetector(frames, miss_rate=0.25, seed=1),
        pose=OraclePoseEstimator(frames),
        **kw,
    )


def test_run_is_a_generator_and_keeps_ids(scene_frames, image_folder):
    pipeline = _pipeline(scene_frames)
    stream = pipeline.run(image_folder)
    assert inspect.isgenerator(stream)
    results = list(stream)
    assert [r.frame_index for r in results] == list(range(len(scene_frames)))
    assert all(r.image is None for r in results)
    stats = count_id_switches(scene_frames, [r.poses for r in results])
    # the third walker is out of frame for 15 frames, longer than tracker.memory: it comes back
    # with a new id (one switch); the two who cross and occlude each other keep theirs
    assert stats["id_switches"] <= 1
    # a quarter of the detections are missing, but flow propagation keeps nearly everyone
    assert stats["misses"] <= 0.05 * stats["gt"]
    assert pipeline.times.frames == len(scene_frames)
    assert set(pipeline.times.seconds) >= {"decode", "detect", "flow", "pose", "track"}


def test_run_accepts_in_memory_frames(scene_frames):
    frames = (Frame(f.index, f.index / 25, f.image) for f in scene_frames[:5])
    results = list(_pipeline(scene_frames).run(frames, keep_images=True))
    assert len(results) == 5 and results[0].image is scene_frames[0].image


def test_process_video_writes_every_output(scene_frames, image_folder, tmp_path):
    pipeline = _pipeline(scene_frames)
    summary = process_video(pipeline, image_folder, tmp_path / "out", progress=False)
    stem = image_folder.name
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == sorted(f"{stem}{s}" for s in
                           (".posetrack.json", ".coco.json", ".csv", ".jsonl", ".annotated.mp4", ".report.html"))
    assert summary.frames == len(scene_frames) and summary.tracks in (3, 4)  # see above
    pt = json.loads((tmp_path / "out" / f"{stem}.posetrack.json").read_text())
    assert len(pt["images"]) == len(scene_frames)
    assert len({a["track_id"] for a in pt["annotations"]}) == summary.tracks
    assert len(pt["annotations"]) == summary.people
    rows = (tmp_path / "out" / f"{stem}.jsonl").read_text().splitlines()
    assert len(rows) == summary.people
    with av.open(str(tmp_path / "out" / f"{stem}.annotated.mp4")) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert sum(1 for _ in container.decode(stream)) == len(scene_frames)
    assert summary.line().startswith(f"{stem}: {len(scene_frames)} frames")


def test_failure_midway_leaves_nothing(scene_frames, image_folder, tmp_path):
    class Exploding(OraclePoseEstimator):
        def estimate(self, image, boxes):
            if self.calls == 10:
                raise RuntimeError("boom")
            self.calls += 1
            return super().estimate(image, boxes)

    pose = Exploding(scene_frames)
    pose.calls = 0
    config = load_config("default", {"device": "cpu"})
    pipeline = Pipeline.from_config(config, detector=FlakyDetector(scene_frames), pose=pose)
    out = tmp_path / "out"
    with pytest.raises(RuntimeError, match="boom"):
        process_video(pipeline, image_folder, out, progress=False)
    assert not out.exists()


def test_bottom_up_skips_the_detector(scene_frames):
    class CountingDetector(FlakyDetector):
        calls = 0

        def detect(self, frames):
            CountingDetector.calls += 1
            return super().detect(frames)

    config = load_config("default", {"device": "cpu"})
    pipeline = Pipeline.from_config(config, detector=CountingDetector(scene_frames),
                                    pose=OraclePoseEstimator(scene_frames, top_down=False))
    frames = (Frame(f.index, f.index / 25, f.image) for f in scene_frames[:8])
    results = list(pipeline.run(frames))
    assert CountingDetector.calls == 0
    assert all(len(r.poses) == len(f.ids) for r, f in zip(results, scene_frames))
    assert np.all(results[-1].poses.track_ids >= 0)


def test_detections_file_follows_frames_under_stride(scene_frames, image_folder, tmp_path):
    """Boxes from a file are looked up by each frame's name/index, so --stride keeps them right."""
    dets = [{"image_id": f.index, "bbox": [f.index, 0, 10, 10], "score": 0.9, "category_id": 1}
            for f in scene_frames]
    path = tmp_path / "dets.json"
    path.write_text(json.dumps(dets))

    class Recorder(OraclePoseEstimator):
        seen: list = []

        def estimate(self, image, boxes):
            Recorder.seen.append(boxes.boxes[:, 0].tolist())
            return super().estimate(image, boxes)

    config = load_config("default", {"device": "cpu", "detector.name": "file", "detector.file": str(path),
                                     "video.stride": 3, "flow.name": "none", "tracker.propagate": False})
    pipeline = Pipeline.from_config(config, pose=Recorder(scene_frames))
    indices = [r.frame_index for r in pipeline.run(image_folder)]
    assert indices == list(range(0, len(scene_frames), 3))
    assert Recorder.seen == [[float(i)] for i in indices]
