"""The pose tracker: flow propagation of last frame's people and OKS association with track memory.

Per frame the pipeline calls ``propose`` (top-down only) and then ``update``. Before either acts,
every live track's last pose is moved into the current frame (``_advance``): by the optical flow when
there is one, else by a Kalman prediction of its box (``kalman: true``), else left where it was. A
track not seen for a few frames keeps being moved this way, so when the person reappears the
comparison is with where they should be now, not where they were last seen.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from posetrack.flow.warp import warp_boxes, warp_points
from posetrack.keypoints import KeypointLayout
from posetrack.oks import oks_matrix
from posetrack.tracker.boxes import box_area, iou_matrix, keypoint_boxes, merge_proposals
from posetrack.tracker.config import TrackerConfig
from posetrack.tracker.kalman import BoxKalman
from posetrack.tracker.matching import match
from posetrack.tracker.smoothing import OneEuroFilter
from posetrack.types import Detections, Poses

# A pose is taken to come from a proposed box when their IoU is at least this (top-down estimators
# return the box they were given, or one close to it).
_ORIGIN_IOU = 0.5


@dataclass
class _Track:
    id: int
    keypoints: np.ndarray  # (K, 3) last pose, moved into the current frame by _advance
    box: np.ndarray  # (4,) last box, moved likewise
    score: float
    last_seen: int  # frame number of the last match
    hits: int = 1  # frames matched so far
    since_detection: int = 0  # consecutive matched frames whose pose came from a propagated box
    kalman: BoxKalman | None = None
    smoother: OneEuroFilter | None = None


class PoseTracker:
    """Implements the Tracker protocol (see tracker/base.py); one instance per video."""

    def __init__(self, config: TrackerConfig, layout: KeypointLayout) -> None:
        self.config = config
        self.layout = layout
        self.sigmas = layout.sigma_array
        self.reset()

    def reset(self) -> None:
        """Forget all tracks (start of a new video); ids restart at 0."""
        self.tracks: list[_Track] = []
        self.frame = 0  # number of the frame being processed
        self.next_id = 0
        self._advanced = -1  # last frame _advance ran for
        self._proposed: tuple[np.ndarray, np.ndarray] | None = None  # boxes, propagated flags

    @property
    def window(self) -> int:
        """Frames a track stays matchable after it was last seen."""
        return min(self.config.memory, self.config.max_age)

    # -- motion -------------------------------------------------------------------------------
    def _advance(self, flow: np.ndarray | None) -> None:
        if self._advanced == self.frame:
            return
        self._advanced = self.frame
        if not self.tracks:
            return
        if flow is not None:
            kps = warp_points(np.stack([t.keypoints for t in self.tracks]), flow)
            boxes = warp_boxes(np.stack([t.box for t in self.tracks]), flow)
            for t, k, b in zip(self.tracks, kps, boxes):
                t.keypoints, t.box = k, b
        elif self.config.kalman:
            for t in self.tracks:
                before = t.kalman.centre
                cx, cy, w, h = t.kalman.predict()
                shift = (np.array([cx, cy]) - before).astype(np.float32)
                t.keypoints = t.keypoints.copy()
                t.keypoints[:, :2] += shift
                t.box = np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], np.float32)

    # -- propagation ----------------------------------------------------------------------------
    def propose(self, detections: Detections, flow: np.ndarray | None) -> Detections:
        """Detections plus last frame's people moved into this frame, merged by NMS.

        A propagated box is the extent of the track's confident joints (score above
        ``keypoint_threshold``) that lie inside the frame, enlarged by ``propagate_box_expand``; its
        score is the mean score of those joints. Only people matched in the previous frame are
        propagated, and only while their last ``propagate_max_age`` poses did not all come from
        propagated boxes. The merge keeps every detection (the detector ran its own NMS); which
        propagated boxes survive depends on ``merge`` (see boxes.merge_proposals). Detections come
        first in the result, then the surviving propagated boxes.
        """
        self._advance(flow)
        cfg = self.config
        src = [
            t for t in self.tracks
            if t.last_seen == self.frame - 1 and t.since_detection < cfg.propagate_max_age
        ] if cfg.propagate else []  # fmt: skip
        prop_boxes = np.zeros((0, 4), np.float32)
        prop_scores = np.zeros((0,), np.float32)
        if src:
            kps = np.stack([t.keypoints for t in src]).copy()
            if flow is not None:  # joints that left the frame do not shape the box
                h, w = flow.shape[:2]
                outside = (kps[..., 0] < 0) | (kps[..., 1] < 0) | (kps[..., 0] > w - 1) | (kps[..., 1] > h - 1)
                kps[..., 2] = np.where(outside, 0.0, kps[..., 2])
            boxes, ok = keypoint_boxes(kps, cfg.keypoint_threshold, cfg.propagate_box_expand)
            if flow is not None:
                boxes[:, 0::2] = boxes[:, 0::2].clip(0, w - 1)
                boxes[:, 1::2] = boxes[:, 1::2].clip(0, h - 1)
            conf = kps[..., 2] > cfg.keypoint_threshold
            scores = np.where(conf, kps[..., 2], 0).sum(-1) / np.maximum(conf.sum(-1), 1)
            prop_boxes, prop_scores = boxes[ok], scores[ok].astype(np.float32)
        keep_det, keep_prop = merge_proposals(
            detections.boxes, detections.scores, prop_boxes, prop_scores, cfg.nms_threshold,
            one_to_one=cfg.merge == "one-to-one",
        )
        boxes = np.concatenate([detections.boxes[keep_det], prop_boxes[keep_prop]])
        scores = np.concatenate([detections.scores[keep_det], prop_scores[keep_prop]])
        self._proposed = (boxes, np.arange(len(boxes)) >= len(keep_det))
        return Detections(boxes, scores)

    def _origins(self, poses: Poses) -> np.ndarray:
        """Which poses were estimated in a propagated box (False when propose was not called)."""
        if self._proposed is None or not len(poses) or not len(self._proposed[0]):
            return np.zeros(len(poses), dtype=bool)
        boxes, propagated = self._proposed
        iou = iou_matrix(poses.boxes, boxes)
        best = iou.argmax(1)
        return propagated[best] & (iou[np.arange(len(poses)), best] >= _ORIGIN_IOU)

    # -- association ----------------------------------------------------------------------------
    def similarity(self, poses: Poses, tracks: list[_Track]) -> np.ndarray:
        """OKS (N poses x M tracks) over the joints confident in both poses.

        The scale s^2 is the mean of the areas of the two poses' boxes (the box a pose was
        estimated in, a track's box moved into this frame). Measured better than the extent of
        the confident joints, which shrinks for a person half hidden or half out of the frame and
        makes OKS needlessly strict for them (docs/tracking.md).
        """
        if not len(poses) or not tracks:
            return np.zeros((len(poses), len(tracks)))
        thr = self.config.keypoint_threshold
        a = poses.keypoints
        b = np.stack([t.keypoints for t in tracks])
        area_a = box_area(poses.boxes)
        area_b = box_area(np.stack([t.box for t in tracks]))
        counted = (a[:, None, :, 2] > thr) & (b[None, :, :, 2] > thr)
        return oks_matrix(a, b, (area_a[:, None] + area_b[None]) / 2, self.sigmas, counted)

    def update(self, poses: Poses, flow: np.ndarray | None) -> Poses:
        """Assign track ids to ``poses`` (a copy is returned) and advance to the next frame."""
        self._advance(flow)
        cfg = self.config
        origins = self._origins(poses)
        candidates = [t for t in self.tracks if 1 <= self.frame - t.last_seen <= self.window]
        sim = self.similarity(poses, candidates)
        recency = np.array([t.last_seen for t in candidates], dtype=np.float64)
        pairs = match(sim, cfg.similarity_threshold, cfg.matching, recency)
        assigned: list[_Track | None] = [None] * len(poses)
        for r, c in pairs:
            assigned[r] = candidates[c]
        out_kps = poses.keypoints.copy()
        ids = np.full(len(poses), -1, dtype=np.int64)
        for i in range(len(poses)):  # one iteration per person
            kp, box, score = poses.keypoints[i], poses.boxes[i], float(poses.scores[i])
            t = assigned[i]
            if t is None:
                t = _Track(self.next_id, kp.copy(), box.copy(), score, self.frame, hits=0)
                self.next_id += 1
                if cfg.kalman:
                    t.kalman = BoxKalman(box)
                if cfg.smoothing == "one-euro":
                    t.smoother = OneEuroFilter(cfg.smoothing_min_cutoff, cfg.smoothing_beta)
                self.tracks.append(t)
                gap = 1
            else:
                gap = self.frame - t.last_seen
                if t.kalman is not None:
                    t.kalman.update(box)
            t.keypoints, t.box, t.score, t.last_seen = kp.copy(), box.copy(), score, self.frame
            t.hits += 1
            t.since_detection = t.since_detection + 1 if origins[i] else 0
            if t.smoother is not None:
                out_kps[i, :, :2] = t.smoother(kp[:, :2], gap)
            if t.hits >= cfg.min_hits:
                ids[i] = t.id
        # A track that cannot be matched in the next frame is gone for good.
        self.tracks = [t for t in self.tracks if self.frame + 1 - t.last_seen <= self.window]
        self.frame += 1
        self._proposed = None
        return Poses(out_kps, poses.boxes.copy(), poses.scores.copy(), poses.layout, ids)
