"""Synthetic videos with ground truth, for tests and benchmarks of detection, flow and tracking.

People are drawn as textured stick figures (thick limbs, a torso polygon and a head) whose COCO-17
keypoints are known exactly. They walk (legs and arms swing), cross and occlude each other (the one
lower in the image is in front), walk out of the frame, turn round and come back; the textured
background can pan. Each person's texture moves with the person, so optical flow has something to
lock onto.

Also here: an ORACLE pose estimator (returns the ground-truth keypoints, with small noise, of the
person best overlapping each box, or of everyone for bottom-up), a FLAKY detector (ground-truth boxes,
jittered, with seeded random misses), the frame loop that runs detector → propagation → pose →
association over a scene, id-switch counting and MOTA, and an mp4 writer (PyAV, libx264).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from posetrack.keypoints import COCO17
from posetrack.oks import oks_matrix
from posetrack.types import Detections, Frame, Poses

# Canonical COCO-17 joint offsets from the mid-hip point, in units of body height, facing the camera.
# A walker in COCO-17 joints, as fractions of body height around the hip centre.
BODY = np.array([
    (0.00, -0.42), (-0.025, -0.44), (0.025, -0.44), (-0.05, -0.43), (0.05, -0.43),  # face
    (-0.11, -0.30), (0.11, -0.30), (-0.15, -0.15), (0.15, -0.15), (-0.16, 0.00), (0.16, 0.00),  # arms
    (-0.06, 0.00), (0.06, 0.00), (-0.07, 0.24), (0.07, 0.24), (-0.07, 0.48), (0.07, 0.48),  # legs
], dtype=np.float64)  # fmt: skip
# Horizontal swing amplitude per joint while walking (fraction of height); left/right in antiphase.
SWING = np.array([0, 0, 0, 0, 0, 0, 0, -0.03, 0.03, -0.07, 0.07, 0, 0, 0.05, -0.05, 0.10, -0.10])
LIMBS = ((5, 7), (7, 9), (6, 8), (8, 10), (11, 13), (13, 15), (12, 14), (14, 16), (5, 6), (11, 12))
VISIBLE_SCORE, OCCLUDED_SCORE = 0.9, 0.05  # oracle keypoint scores


@dataclass
class Person:
    """One walker: start position of the mid-hip point (image pixels), velocity (px/frame), height."""

    x: float
    y: float
    vx: float
    vy: float = 0.0
    height: float = 100.0
    phase: float = 0.0
    texture_seed: int = 0


@dataclass
class SceneFrame:
    """A rendered frame and its ground truth (people present in the frame only)."""

    index: int
    image: np.ndarray  # RGB uint8
    ids: np.ndarray  # (P,) person ids
    keypoints: np.ndarray  # (P, 17, 3) x, y, visibility (1 visible, 0 occluded or outside)
    boxes: np.ndarray  # (P, 4) extent of the drawn person (unoccluded), clipped to the frame


def _reflect(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Position moving freely, bounced back and forth between lo and hi (triangle wave)."""
    span = hi - lo
    u = np.mod(x - lo, 2 * span)
    return lo + np.where(u > span, 2 * span - u, u)


def _texture(seed: int, size: int = 64) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = rng.uniform(40, 215, size=3)
    blocks = rng.normal(0, 45, size=(size // 4, size // 4, 3))
    tex = cv2.resize(blocks, (size, size), interpolation=cv2.INTER_NEAREST) + base
    return np.clip(tex, 0, 255).astype(np.uint8)


@dataclass
class SyntheticScene:
    people: list[Person]
    width: int = 320
    height: int = 240
    num_frames: int = 40
    pan: tuple[float, float] = (0.0, 0.0)  # background motion, px/frame (camera pan the other way)
    margin: float = 0.7  # people bounce this many body heights beyond the frame edges
    seed: int = 0
    _cache: list[SceneFrame] | None = field(default=None, repr=False)

    @classmethod
    def random(cls, seed: int, num_people: int = 4, num_frames: int = 60, width: int = 320,
               height: int = 240, pan: tuple[float, float] = (1.0, 0.0), speed: float = 3.0) -> SyntheticScene:
        """People at random positions and speeds; with enough frames they cross and leave/re-enter."""
        rng = np.random.default_rng(seed)
        people = []
        for i in range(num_people):
            h = rng.uniform(0.35, 0.55) * height
            people.append(Person(
                x=rng.uniform(0, width), y=rng.uniform(0.45, 0.75) * height,
                vx=rng.choice([-1, 1]) * rng.uniform(0.4, 1.0) * speed, vy=rng.uniform(-0.3, 0.3),
                height=h, phase=rng.uniform(0, 2 * np.pi), texture_seed=seed * 1000 + i,
            ))  # fmt: skip
        return cls(people, width, height, num_frames, pan, seed=seed)

    # -- geometry --------------------------------------------------------------------------------
    def keypoints_at(self, t: int) -> np.ndarray:
        """(P, 17, 2) joint positions of every person at frame t (may lie outside the frame)."""
        out = np.zeros((len(self.people), 17, 2))
        for i, p in enumerate(self.people):
            m = self.margin * p.height
            x = _reflect(np.array(p.x + p.vx * t), -m, self.width + m)
            y = _reflect(np.array(p.y + p.vy * t), 0.35 * self.height, 0.85 * self.height)
            swing = np.sin(p.phase + 2 * np.pi * t / 16.0) * SWING
            out[i, :, 0] = x + (BODY[:, 0] + swing) * p.height
            out[i, :, 1] = y + BODY[:, 1] * p.height
        return out

    # -- rendering -------------------------------------------------------------------------------
    def _background(self) -> np.ndarray:
        rng = np.random.default_rng(self.seed + 7)
        extra = (int(abs(self.pan[0]) * self.num_frames) + 2, int(abs(self.pan[1]) * self.num_frames) + 2)
        h, w = self.height + extra[1], self.width + extra[0]
        coarse = rng.uniform(60, 200, size=(h // 16 + 2, w // 16 + 2, 3))
        fine = rng.normal(0, 25, size=(h // 3 + 2, w // 3 + 2, 3))
        bg = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)
        bg += cv2.resize(fine, (w, h), interpolation=cv2.INTER_NEAREST)
        return np.clip(bg, 0, 255).astype(np.uint8)

    def _render(self, t: int, bg: np.ndarray, textures: list[np.ndarray]) -> SceneFrame:
        H, W = self.height, self.width
        ox = int(round(self.pan[0] * t)) if self.pan[0] >= 0 else int(round(abs(self.pan[0]) * (self.num_frames - t)))
        oy = int(round(self.pan[1] * t)) if self.pan[1] >= 0 else int(round(abs(self.pan[1]) * (self.num_frames - t)))
        image = np.ascontiguousarray(bg[oy:oy + H, ox:ox + W])
        label = np.full((H, W), -1, dtype=np.int32)
        kp = self.keypoints_at(t)
        boxes = np.zeros((len(self.people), 4), np.float32)
        drawn = np.zeros(len(self.people), dtype=bool)
        for i in np.argsort(kp[:, 11:13, 1].mean(1)):  # far (higher in the image) first
            p = self.people[i]
            mask = np.zeros((H, W), np.uint8)
            pts = np.round(kp[i] * 4).astype(np.int32)  # 2 fractional bits for cv2 drawing
            thick = max(2, int(0.06 * p.height))
            for a, b in LIMBS:
                cv2.line(mask, tuple(pts[a]), tuple(pts[b]), 1, thick, cv2.LINE_8, shift=2)
            cv2.fillPoly(mask, [pts[[5, 6, 12, 11]]], 1, cv2.LINE_8, shift=2)
            neck = ((pts[5] + pts[6]) // 2)
            cv2.line(mask, tuple(neck), tuple(pts[0]), 1, thick, cv2.LINE_8, shift=2)
            cv2.circle(mask, tuple(pts[0]), int(0.07 * p.height * 4), 1, -1, cv2.LINE_8, shift=2)
            ys, xs = np.nonzero(mask)
            if not len(ys):
                continue
            drawn[i] = True
            tex = textures[i]
            s = tex.shape[0]
            rx, ry = int(round(kp[i, 11:13, 0].mean())), int(round(kp[i, 11:13, 1].mean()))
            image[ys, xs] = tex[(ys - ry) % s, (xs - rx) % s]
            label[ys, xs] = i
            boxes[i] = (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
        xi = np.round(kp[..., 0]).astype(int)
        yi = np.round(kp[..., 1]).astype(int)
        inside = (xi >= 0) & (yi >= 0) & (xi < W) & (yi < H)
        owner = label[yi.clip(0, H - 1), xi.clip(0, W - 1)]
        vis = inside & (owner == np.arange(len(self.people))[:, None])
        present = drawn & (vis.sum(1) >= 4)
        keypoints = np.concatenate([kp, vis[..., None]], -1).astype(np.float32)
        return SceneFrame(t, image, np.flatnonzero(present), keypoints[present], boxes[present])

    def frames(self) -> list[SceneFrame]:
        """All frames with ground truth (rendered once, then cached)."""
        if self._cache is None:
            bg = self._background()
            textures = [_texture(p.texture_seed) for p in self.people]
            self._cache = [self._render(t, bg, textures) for t in range(self.num_frames)]
        return self._cache

    def images(self) -> list[np.ndarray]:
        return [f.image for f in self.frames()]


def crossing_scene(num_frames: int = 48, pan: tuple[float, float] = (1.0, 0.0)) -> SyntheticScene:
    """An easy, fixed scene: two people cross (one occludes the other), a third walks out and back."""
    people = [
        Person(x=60, y=150, vx=3.0, height=110, phase=0.0, texture_seed=1),
        Person(x=260, y=160, vx=-3.0, height=115, phase=1.5, texture_seed=2),
        Person(x=290, y=130, vx=4.0, height=90, phase=3.0, texture_seed=3),
    ]
    return SyntheticScene(people, 320, 240, num_frames, pan, margin=0.4, seed=3)


# -- oracle models ----------------------------------------------------------------------------------
class _FrameLookup:
    """Finds the ground-truth frame of an image: by its exact bytes, else by call order (for images
    that went through a lossy codec)."""

    def __init__(self, frames: Sequence[SceneFrame]) -> None:
        self.frames = list(frames)
        self.by_hash = {self._key(f.image): i for i, f in enumerate(self.frames)}
        self.calls = 0

    @staticmethod
    def _key(image: np.ndarray) -> str:
        return hashlib.blake2b(np.ascontiguousarray(image).tobytes(), digest_size=16).hexdigest()

    def __call__(self, image: np.ndarray) -> SceneFrame:
        i = self.by_hash.get(self._key(image), self.calls)
        self.calls = i + 1
        return self.frames[min(i, len(self.frames) - 1)]


def _box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    from posetrack.tracker.boxes import iou_matrix

    return iou_matrix(a, b)


class OraclePoseEstimator:
    """PoseEstimator returning ground-truth keypoints (+ Gaussian noise of ``noise`` px).

    Top-down: each box gets the pose of the present person it overlaps best (IoU >= ``min_iou``);
    a person is returned once, for its best box (what OKS-NMS would leave). Visible joints score
    0.9, occluded / out-of-frame ones 0.05 and are placed less precisely (noise of
    ``hidden_noise`` x the person's box height), like a real model's confident and unsure joints.
    A box over no one gives no pose (false positives are not modelled). A pose keeps its box's
    ``source``.

    Unreliable poses: a share ``weak_people`` of the people (chosen by id, seeded) have, in every
    frame, a fraction ``weak_joints`` of their joints (which ones varies frame to frame) scored
    ``OCCLUDED_SCORE`` although they are placed as precisely as visible ones (a person seen from
    above, blurred, or a weak model: positions right, confidence low).
    """

    layout = COCO17

    def __init__(self, frames: Sequence[SceneFrame], top_down: bool = True, noise: float = 0.5,
                 min_iou: float = 0.3, seed: int = 0, hidden_noise: float = 0.05,
                 weak_people: float = 0.0, weak_joints: float = 0.85) -> None:
        self.lookup = _FrameLookup(frames)
        self.needs_boxes = top_down
        self.noise = noise
        self.hidden_noise = hidden_noise
        self.min_iou = min_iou
        self.rng = np.random.default_rng(seed)
        self.weak_joints = weak_joints
        max_id = max((int(f.ids.max()) for f in frames if len(f.ids)), default=-1)
        self.weak = np.random.default_rng(seed + 1).random(max_id + 1) < weak_people
        self.weak_rng = np.random.default_rng(seed + 2)

    def estimate(self, image: np.ndarray, boxes: Detections | None) -> Poses:
        gt = self.lookup(image)
        if self.needs_boxes:
            if boxes is None or not len(boxes) or not len(gt.ids):
                return Poses.empty(COCO17)
            iou = _box_iou(boxes.boxes, gt.boxes)  # (B, P)
            best_box = iou.argmax(0)  # best box per person
            people = [p for p in range(len(gt.ids)) if iou[best_box[p], p] >= self.min_iou
                      and iou[best_box[p]].argmax() == p]
            chosen = [best_box[p] for p in people]
            out_boxes = boxes.boxes[chosen] if people else np.zeros((0, 4))
            source = boxes.source[chosen] if people else None
        else:
            people = list(range(len(gt.ids)))
            out_boxes, source = gt.boxes, None
        kp = gt.keypoints[people].copy()
        heights = (gt.boxes[people, 3] - gt.boxes[people, 1])[:, None, None] if people else np.zeros((0, 1, 1))
        sigma = np.where(kp[..., 2:] > 0, self.noise, self.hidden_noise * heights)
        kp[..., :2] += self.rng.normal(0, 1, size=kp[..., :2].shape) * sigma
        kp[..., 2] = np.where(kp[..., 2] > 0, VISIBLE_SCORE, OCCLUDED_SCORE)
        weak = self.weak[gt.ids[people]] if people else np.zeros(0, bool)
        if weak.any():  # which joints are weak: a fresh random choice per person and frame
            k = kp.shape[1]
            ranks = self.weak_rng.random((int(weak.sum()), k)).argsort(1).argsort(1)
            kp[weak, :, 2] = np.where(ranks < round(self.weak_joints * k), OCCLUDED_SCORE, kp[weak, :, 2])
        return Poses(kp, out_boxes, kp[..., 2].mean(-1) if len(kp) else np.zeros(0), COCO17, source=source)


class FlakyDetector:
    """Detector returning ground-truth boxes, jittered by ``jitter`` x box size, each missed with
    probability ``miss_rate`` (seeded), plus the misses listed in ``drop`` ({frame: [person ids]})."""

    def __init__(self, frames: Sequence[SceneFrame], miss_rate: float = 0.2, jitter: float = 0.05,
                 seed: int = 0, drop: dict[int, Sequence[int]] | None = None) -> None:
        self.by_index = {f.index: f for f in frames}
        self.miss_rate, self.jitter = miss_rate, jitter
        self.rng = np.random.default_rng(seed)
        self.drop = {k: set(v) for k, v in (drop or {}).items()}

    def detect(self, frames: Sequence[Frame]) -> list[Detections]:
        out = []
        for frame in frames:
            gt = self.by_index[frame.index]
            n = len(gt.ids)
            keep = self.rng.random(n) >= self.miss_rate
            keep &= ~np.isin(gt.ids, list(self.drop.get(gt.index, ())))
            wh = gt.boxes[:, 2:] - gt.boxes[:, :2]
            size = np.concatenate([wh, wh], 1)  # w, h, w, h
            boxes = gt.boxes + self.rng.uniform(-self.jitter, self.jitter, size=(n, 4)) * size
            scores = self.rng.uniform(0.6, 1.0, size=n)
            out.append(Detections(boxes[keep], scores[keep]))
        return out


# -- running and scoring ---------------------------------------------------------------------------
def run_tracking(frames: Sequence[SceneFrame], tracker, estimator, detector=None, flow=None) -> list[Poses]:
    """The pipeline's frame loop (detect → propagate → pose → associate) over in-memory scene frames."""
    from posetrack.config import PipelineConfig
    from posetrack.pipeline import Pipeline

    pipeline = Pipeline(PipelineConfig(), estimator, detector, flow, lambda: tracker)
    stream = (Frame(f.index, f.index / 25.0, f.image) for f in frames)
    return [result.poses for result in pipeline.run(stream)]


def match_gt(gt: SceneFrame, poses: Poses, min_oks: float = 0.5) -> dict[int, int]:
    """{gt person id: track id} for this frame, one-to-one by OKS on the visible GT joints."""
    if not len(gt.ids) or not len(poses):
        return {}
    area = (gt.boxes[:, 2] - gt.boxes[:, 0]) * (gt.boxes[:, 3] - gt.boxes[:, 1])
    sim = oks_matrix(gt.keypoints, poses.keypoints, area[:, None] * 0.53, COCO17.sigma_array,
                     (gt.keypoints[:, None, :, 2] > 0))
    out = {}
    for i, j in zip(*np.unravel_index(np.argsort(-sim, axis=None), sim.shape)):
        if sim[i, j] < min_oks:
            break
        if gt.ids[i] not in out and poses.track_ids[j] not in out.values():
            out[int(gt.ids[i])] = int(poses.track_ids[j])
    return out


def count_id_switches(frames: Sequence[SceneFrame], results: Sequence[Poses]) -> dict[str, int]:
    """Id switches (a GT person's track id differs from its previous one, gaps ignored, as in
    CLEAR-MOT), misses (GT people without a pose) and poses matched to no one."""
    last: dict[int, int] = {}
    switches = misses = unmatched = 0
    for gt, poses in zip(frames, results):
        m = match_gt(gt, poses)
        misses += len(gt.ids) - len(m)
        unmatched += len(poses) - len(m)
        for pid, tid in m.items():
            if pid in last and last[pid] != tid:
                switches += 1
            last[pid] = tid
    return {"id_switches": switches, "misses": misses, "false_positives": unmatched,
            "gt": int(sum(len(f.ids) for f in frames))}


def mot_metrics(frames: Sequence[SceneFrame], results: Sequence[Poses], min_oks: float = 0.5) -> dict[str, float]:
    """MOTA, id switches etc. from motmetrics, with distance 1 - OKS (match when OKS >= min_oks)."""
    import motmetrics as mm

    acc = mm.MOTAccumulator(auto_id=True)
    for gt, poses in zip(frames, results):
        if len(gt.ids) and len(poses):
            area = (gt.boxes[:, 2] - gt.boxes[:, 0]) * (gt.boxes[:, 3] - gt.boxes[:, 1])
            sim = oks_matrix(gt.keypoints, poses.keypoints, area[:, None] * 0.53, COCO17.sigma_array,
                             (gt.keypoints[:, None, :, 2] > 0))
            dist = np.where(sim >= min_oks, 1.0 - sim, np.nan)
        else:
            dist = np.zeros((len(gt.ids), len(poses)))
        acc.update(list(gt.ids), list(poses.track_ids), dist)
    mh = mm.metrics.create()
    s = mh.compute(acc, metrics=["mota", "num_switches", "num_misses", "num_false_positives",
                                 "num_objects", "idf1"], name="seq")
    return {k: float(s[k].iloc[0]) for k in s.columns}


# -- video files -----------------------------------------------------------------------------------
def write_video(images: Sequence[np.ndarray], path: str | Path, fps: int = 25, crf: int = 12) -> Path:
    """Write RGB frames as an H.264 mp4 at a constant ``fps`` (posetrack.video.VideoWriter)."""
    from posetrack.video import VideoWriter

    h, w = images[0].shape[:2]
    writer = VideoWriter(path, w, h, fps, crf=crf, preset="ultrafast")
    try:
        for i, image in enumerate(images):
            writer.write(image, i / fps)
    except BaseException:
        writer.abort()
        raise
    return writer.close()


