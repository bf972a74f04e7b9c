"""Test doubles and scoring helpers for the synthetic scenes of :mod:`posetrack.synthetic`.

Not used by the pipeline: tests and benchmarks plug these in where a model would be.

* :class:`OraclePoseEstimator`: the ground-truth keypoints (with small noise) of the person best
  overlapping each box, or of everyone for bottom-up;
* :class:`FlakyDetector`: ground-truth boxes, jittered, with seeded random misses;
* :func:`run_tracking`: the pipeline's frame loop over in-memory scene frames;
* :func:`count_id_switches`, :func:`match_gt`, :func:`mot_metrics`: scoring against the scene.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from posetrack.boxes import iou_matrix
from posetrack.keypoints import COCO17
from posetrack.oks import oks_matrix
from posetrack.synthetic import SceneFrame
from posetrack.types import Detections, Frame, Poses

VISIBLE_SCORE, OCCLUDED_SCORE = 0.9, 0.05  # oracle keypoint scores


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
            iou = iou_matrix(boxes.boxes, gt.boxes)  # (B, P)
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
