"""Videos smaller than the models' windows (issue 10): every detector and flow option that runs on
the CPU ends in a result, never in an OpenCV abort, segfault or traceback."""

from __future__ import annotations

import json

import numpy as np
import pytest

from posetrack.synthetic import crossing_scene, write_video

from ._cli import TINY, posetrack


def _tiny_video(path, width, height, frames=4):
    images = [np.ascontiguousarray(im[:: max(1, 240 // height), :: max(1, 320 // width)][:height, :width])
              for im in crossing_scene(num_frames=frames).images()]
    return write_video(images, path)


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    (root / "tiny.yaml").write_text(TINY)
    _tiny_video(root / "v128x96.mp4", 128, 96)
    _tiny_video(root / "v16x16.mp4", 16, 16)
    dets = [{"image_id": i, "bbox": [20.0, 10.0, 40.0, 80.0], "score": 0.9} for i in range(4)]
    (root / "dets.json").write_text(json.dumps(dets))
    return root


def _run(ws, tmp_path, video, *sets):
    out = tmp_path / "out"
    args = ["run", video, "-c", "tiny.yaml", "-o", out, "-q", "--formats", "posetrack"]
    for s in sets:
        args += ["--set", s]
    r = posetrack(*args, cwd=ws)
    assert r.returncode == 0, r.stderr
    data = json.loads((out / f"{video.split('.')[0]}.posetrack.json").read_text())
    assert len(data["images"]) == 4
    assert (out / f"{video.split('.')[0]}.annotated.mp4").is_file()
    return data


@pytest.mark.parametrize("video, detector", [
    ("v16x16.mp4", ["detector.name=hog"]),
    ("v128x96.mp4", ["detector.name=hog"]),  # 64x128 window: OpenCV aborted on smaller frames
    ("v128x96.mp4", ["detector.name=file", "detector.file=dets.json"]),
    ("v128x96.mp4", ["detector.name=none"]),
    ("v128x96.mp4", ["detector.name=fasterrcnn-mobilenet-v3-large-fpn", "detector.weights=null",
                     "detector.input_size=64"]),
], ids=["hog-16", "hog-128x96", "file", "none", "fasterrcnn-mobilenet"])  # fmt: skip
def test_every_detector(ws, tmp_path, video, detector):
    data = _run(ws, tmp_path, video, *detector)
    if detector[0] == "detector.name=file":
        assert len(data["annotations"]) == 4  # the file's box, one person per frame


@pytest.mark.parametrize("flow", [
    ["flow.name=dis"], ["flow.name=dis", "flow.scale=0.05"],  # DIS failed / segfaulted under 16 px
    ["flow.name=farneback"], ["flow.name=raft-small", "flow.weights=null"], ["flow.name=none"],
], ids=["dis", "dis-scaled", "farneback", "raft-small", "none"])  # fmt: skip
def test_every_flow(ws, tmp_path, flow):
    _run(ws, tmp_path, "v16x16.mp4", "detector.name=file", "detector.file=dets.json", *flow)


def test_opencv_flow_any_size():
    from posetrack.flow.opencv_flow import OpenCVFlow

    rng = np.random.default_rng(0)
    for method in ("dis", "farneback"):
        for h, w in [(1, 1), (8, 8), (13, 40), (16, 100), (12, 200), (240, 320)]:
            a = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
            flow = OpenCVFlow(method, 0.5)(a, np.roll(a, 1, axis=1))
            assert flow.shape == (h, w, 2) and np.isfinite(flow).all()


def test_hog_on_frames_smaller_than_its_window():
    from posetrack.detectors.config import DetectorConfig
    from posetrack.detectors.hog import HogDetector
    from posetrack.types import Frame

    det = HogDetector(DetectorConfig(name="hog"))
    frames = [Frame(index=i, timestamp=0.0, image=np.full((h, w, 3), 128, np.uint8))
              for i, (h, w) in enumerate([(96, 128), (127, 64), (200, 63), (1, 1), (16, 16)])]
    for frame, dets in zip(frames, det.detect(frames)):
        assert len(dets.boxes) == 0 or (dets.boxes[:, 2] <= frame.image.shape[1] + 1).all()
