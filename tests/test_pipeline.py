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


@pytest.fixture(scope="module")
def short_folder(tmp_path_factory, scene_frames):
    """The first 12 frames (the crossing begins, detections go missing) as a folder of PNGs."""
    folder = tmp_path_factory.mktemp("short") / "short_seq"
    folder.mkdir()
    for f in scene_frames[:12]:
        cv2.imwrite(str(folder / f"{f.index:06d}.png"), cv2.cvtColor(f.image, cv2.COLOR_RGB2BGR))
    return folder


def _tiny_topdown():
    """Tiny HRNet, random weights, head scaled so heatmap peaks are O(1): joints above the tracker's
    threshold exist, so propagation and OKS association really run (on nonsense poses)."""
    import torch

    from posetrack.keypoints import COCO17
    from posetrack.pose.config import PoseConfig
    from posetrack.pose.models import build_model
    from posetrack.pose.topdown import TopDownEstimator

    torch.manual_seed(0)
    model = build_model("hrnet-w8-128x96")
    with torch.no_grad():
        model.final_layer.weight.mul_(1e10)
    return TopDownEstimator(model, COCO17, PoseConfig(batch_size=8), (96, 128), "cpu")


def _loop(scene_frames, pose, **loop):
    overrides = {"device": "cpu", "output.render": False, "output.report": False, **{f"pipeline.{k}": v for k, v in loop.items()}}
    config = load_config("default", overrides)
    return Pipeline.from_config(config, detector=FlakyDetector(scene_frames, miss_rate=0.3, seed=1), pose=pose)


def _files(folder):
    """Every result file as comparable data: rows sorted (order within a frame may differ)."""
    out = {}
    for path in sorted(folder.iterdir()):
        if path.suffix in (".csv", ".jsonl"):
            out[path.name] = sorted(path.read_text().splitlines())
        else:
            data = json.loads(path.read_text())
            if isinstance(data, dict):
                data["annotations"] = sorted(data["annotations"], key=lambda a: json.dumps(a, sort_keys=True))
            else:
                data = sorted(data, key=lambda a: json.dumps(a, sort_keys=True))
            out[path.name] = data
    return out


def test_window_of_n_writes_the_files_of_window_of_one(scene_frames, short_folder, tmp_path):
    pose = _tiny_topdown()
    one = _loop(scene_frames, pose, batch_frames=1, flow_workers=1)
    results = list(one.run(short_folder))
    assert sum(int((r.poses.source >= 0).sum()) for r in results) > 0  # propagated boxes were used
    process_video(_loop(scene_frames, pose, batch_frames=1, flow_workers=1), short_folder, tmp_path / "a",
                  progress=False)
    process_video(_loop(scene_frames, pose, batch_frames=5, flow_workers=3), short_folder, tmp_path / "b",
                  progress=False)
    a, b = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert set(a) == set(b) and len(a) == 4
    for name in a:
        assert a[name] == b[name], name


def test_pose_ahead_equals_frame_by_frame_within_float_tolerance(scene_frames, short_folder):
    """Detected boxes estimated for the whole window in one batch: same people, ids and boxes;
    keypoints equal up to float rounding."""
    pose = _tiny_topdown()
    ref = list(_loop(scene_frames, pose, batch_frames=1, pose_ahead="off").run(short_folder))
    ahead = list(_loop(scene_frames, pose, batch_frames=5, pose_ahead="on").run(short_folder))
    assert len(ref) == len(ahead)
    for r, s in zip(ref, ahead):
        order_r = np.lexsort(r.poses.boxes.T[::-1])
        order_s = np.lexsort(s.poses.boxes.T[::-1])
        np.testing.assert_array_equal(r.poses.boxes[order_r], s.poses.boxes[order_s])
        np.testing.assert_array_equal(r.poses.track_ids[order_r], s.poses.track_ids[order_s])
        np.testing.assert_array_equal(r.poses.source[order_r], s.poses.source[order_s])
        np.testing.assert_allclose(r.poses.keypoints[order_r], s.poses.keypoints[order_s], rtol=1e-4, atol=1e-3)


def test_window_of_n_keeps_ids_with_crossings_and_missed_detections(scene_frames, image_folder):
    """Oracle poses (meaningful tracking): identical ids and keypoints for windows of 1 and 6."""
    runs = []
    for window, workers in ((1, 1), (6, 3)):
        pipeline = _loop(scene_frames, OraclePoseEstimator(scene_frames), batch_frames=window, flow_workers=workers)
        runs.append(list(pipeline.run(image_folder)))
    for r, s in zip(*runs):
        np.testing.assert_array_equal(r.poses.track_ids, s.poses.track_ids)
        np.testing.assert_array_equal(r.poses.keypoints, s.poses.keypoints)
    stats = count_id_switches(scene_frames, [r.poses for r in runs[1]])
    assert stats["id_switches"] <= 1 and stats["misses"] <= 0.05 * stats["gt"]


def test_pipeline_config_is_validated():
    from posetrack.errors import ConfigError

    with pytest.raises(ConfigError, match="pipeline.batch_frames"):
        load_config("default", {"pipeline.batch_frames": 0})
    with pytest.raises(ConfigError, match="pipeline.pose_ahead"):
        load_config("default", {"pipeline.pose_ahead": "sometimes"})
    assert load_config("default", {"pipeline.flow_workers": 4}).pipeline.flow_workers == 4


@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_loop_matches_cpu_loop_within_tolerance(scene_frames, short_folder):
    """Frames uploaded once, detector/pose on the GPU with pose_ahead: same people as on the CPU."""
    import torch

    cpu_pose = _tiny_topdown()
    ref = list(_loop(scene_frames, cpu_pose, batch_frames=1).run(short_folder))
    gpu_pose = _tiny_topdown()
    gpu_pose.device = torch.device("cuda")
    gpu_pose.model = gpu_pose.model.cuda()
    gpu_pose._flip_index = gpu_pose._flip_index.cuda()
    pipeline = _loop(scene_frames, gpu_pose, batch_frames=8, pose_ahead="on")
    pipeline.device = torch.device("cuda")
    out = list(pipeline.run(short_folder))
    assert [len(r.poses) for r in ref] == [len(r.poses) for r in out]
