"""Synthetic videos with ground truth, for tests and benchmarks of detection, flow and tracking.

People are drawn as textured stick figures (thick limbs, a torso polygon and a head) whose COCO-17
keypoints are known exactly. They walk (legs and arms swing), cross and occlude each other (the one
lower in the image is in front), walk out of the frame, turn round and come back; the textured
background can pan. Each person's texture moves with the person, so optical flow has something to
lock onto.

Also here: an mp4 writer (PyAV, libx264). The test doubles that run on these scenes (oracle pose
estimator, flaky detector) and the scoring helpers live in :mod:`posetrack.testing`; their old
names here still resolve (lazily) for existing callers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from posetrack.lazy import lazy_attributes

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


# the test doubles and scoring helpers moved to posetrack.testing; their old names still resolve
__getattr__ = lazy_attributes(__name__, {
    name: "posetrack.testing"
    for name in ("OraclePoseEstimator", "FlakyDetector", "run_tracking", "match_gt", "count_id_switches",
                 "mot_metrics", "VISIBLE_SCORE", "OCCLUDED_SCORE")
})  # fmt: skip
