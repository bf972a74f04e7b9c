"""``posetrack track`` end to end on pose files written here (PoseTrack 2018 and COCO results)."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

import posetrack.cli.track  # noqa: F401  (registers the command)
from posetrack.cli.main import cli
from posetrack.keypoints import COCO17
from posetrack.synthetic import Person, SyntheticScene, write_video
from posetrack.testing import OraclePoseEstimator


@pytest.fixture(scope="module")
def scene_frames():
    people = [Person(x=70, y=150, vx=3.0, height=110, texture_seed=1),
              Person(x=250, y=162, vx=-3.0, height=115, phase=1.5, texture_seed=2)]
    return SyntheticScene(people, 320, 240, 24, pan=(1.0, 0.0), seed=5).frames()


def _oracle_poses(frames):
    oracle = OraclePoseEstimator(frames, top_down=False, noise=0.5)
    return [oracle.estimate(f.image, None) for f in frames]


def _posetrack_input(frames, path):
    images, anns = [], []
    for f, poses in zip(frames, _oracle_poses(frames)):
        image_id = 10000010000 + f.index
        images.append({"file_name": f"images/seq/{f.index:06d}.jpg", "id": image_id, "frame_id": image_id})
        order = np.random.default_rng(f.index).permutation(len(poses))  # people in any order
        for i in order:
            x1, y1, x2, y2 = poses.boxes[i].tolist()
            anns.append({"image_id": image_id, "track_id": 99, "bbox": [x1, y1, x2 - x1, y2 - y1],
                         "keypoints": poses.keypoints[i].reshape(-1).tolist()})
    cat = {"id": 1, "name": "person", "keypoints": list(COCO17.joints)}
    path.write_text(json.dumps({"images": images, "annotations": anns, "categories": [cat]}))
    return path


def _ids_follow_people(frames, out):
    """Each GT person keeps one track id across the output (matched by nearest mid-hip)."""
    by_image = {}
    for a in out["annotations"]:
        by_image.setdefault(a["image_id"], []).append(a)
    seen: dict[int, set] = {}
    for f, img in zip(frames, out["images"]):
        anns = by_image.get(img["id"], [])
        assert len(anns) == len(f.ids)
        for pid, kp in zip(f.ids, f.keypoints):
            hip = kp[11:13, :2].mean(0)
            best = min(anns, key=lambda a: np.linalg.norm(np.reshape(a["keypoints"], (17, 3))[11:13, :2].mean(0) - hip))
            seen.setdefault(int(pid), set()).add(best["track_id"])
    return seen


@pytest.mark.parametrize("frames_from", ["none", "video", "images"])
def test_track_posetrack_json(tmp_path, scene_frames, frames_from):
    src = _posetrack_input(scene_frames, tmp_path / "poses.json")
    out_path = tmp_path / "tracked.json"
    args = ["track", str(src), "-o", str(out_path)]
    if frames_from == "video":
        video = write_video([f.image for f in scene_frames], tmp_path / "scene.mp4")
        args += ["--video", str(video)]
    elif frames_from == "images":  # files named like the poses file's images
        folder = tmp_path / "frames"
        folder.mkdir()
        for f in scene_frames:
            cv2.imwrite(str(folder / f"{f.index:06d}.jpg"), f.image[..., ::-1])
        args += ["--images", str(folder)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    out = json.loads(out_path.read_text())
    assert len(out["images"]) == len(scene_frames)
    img = out["images"][0]
    assert {"file_name", "id", "frame_id", "vid_id", "nframes"} <= set(img) and img["nframes"] == 24
    ann = out["annotations"][0]
    assert {"image_id", "track_id", "bbox", "keypoints", "scores"} <= set(ann)
    assert len(ann["keypoints"]) == 51 and len(ann["scores"]) == 17 and len(ann["bbox"]) == 4
    assert out["categories"][0]["keypoints"] == list(COCO17.joints)
    assert [1 + a for a in COCO17.skeleton[0]] == out["categories"][0]["skeleton"][0]
    seen = _ids_follow_people(scene_frames, out)
    assert all(len(ids) == 1 for ids in seen.values()) and len(set.union(*seen.values())) == 2


def test_track_coco_results_and_overwrite(tmp_path, scene_frames):
    results = []
    for f, poses in zip(scene_frames, _oracle_poses(scene_frames)):
        for i in range(len(poses)):
            results.append({"image_id": f.index, "category_id": 1, "score": float(poses.scores[i]),
                            "keypoints": poses.keypoints[i].reshape(-1).tolist()})
    src = tmp_path / "coco.json"
    src.write_text(json.dumps(results))
    out_path = tmp_path / "out.json"
    runner = CliRunner()
    assert runner.invoke(cli, ["track", str(src), "-o", str(out_path)]).exit_code == 0
    out = json.loads(out_path.read_text())
    seen = _ids_follow_people(scene_frames, out)
    assert all(len(ids) == 1 for ids in seen.values())
    assert out["annotations"][0]["bbox"][2] > 0  # made from the joints
    again = runner.invoke(cli, ["track", str(src), "-o", str(out_path)])
    assert again.exit_code == 2 and "already exists" in again.output
    assert runner.invoke(cli, ["track", str(src), "-o", str(out_path), "--overwrite"]).exit_code == 0


def test_track_bad_inputs(tmp_path, scene_frames):
    runner = CliRunner()
    bad = tmp_path / "bad.json"
    bad.write_text('{"images": [{"id": 1}], "annotations": [{"image_id": 1, "keypoints": [1, 2]}]}')
    r = runner.invoke(cli, ["track", str(bad), "-o", str(tmp_path / "o.json")])
    assert r.exit_code == 2 and "keypoints" in r.output
    r = runner.invoke(cli, ["track", str(tmp_path / "missing.json"), "-o", str(tmp_path / "o.json")])
    assert r.exit_code == 2 and "not found" in r.output
    src = _posetrack_input(scene_frames, tmp_path / "poses.json")
    short = write_video([f.image for f in scene_frames[:5]], tmp_path / "short.mp4")
    r = runner.invoke(cli, ["track", str(src), "--video", str(short), "-o", str(tmp_path / "o.json")])
    assert r.exit_code == 2 and "no frame" in r.output
    assert not (tmp_path / "o.json").exists()
