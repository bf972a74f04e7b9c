"""First stage of tracking, once per frame: move the tracks into the frame and propose boxes.

Every live track's last pose and box are moved into the current frame: by the optical flow when
there is one, else by a Kalman prediction of its box (``kalman: true``), else left where they were.
A track not seen for a few frames keeps being moved, so when the person reappears the comparison is
with where they should be now. Top-down pipelines also get the proposals: the detections merged
with boxes made from the moved joints of last frame's people, each box tagged with where it came
from (``Detections.source``).
"""

from __future__ import annotations

import numpy as np

from posetrack.flow.warp import warp_poses
from posetrack.tracker.boxes import keypoint_boxes, merge_proposals
from posetrack.tracker.config import TrackerConfig
from posetrack.tracker.tracks import Tracks
from posetrack.types import DETECTED, Detections


class Propagator:
    def __init__(self, config: TrackerConfig) -> None:
        self.config = config

    def __call__(self, tracks: Tracks, detections: Detections | None, flow: np.ndarray | None) -> Detections | None:
        """Move ``tracks`` into frame ``tracks.frame`` (in place); the proposals when ``detections``
        is given (top-down), else None. ``flow``: previous → current frame, (H, W, 2), or None."""
        if tracks.moved_to == tracks.frame:
            raise RuntimeError("the tracks were already moved into this frame (propagate once per frame)")
        self.move(tracks, flow)
        tracks.moved_to = tracks.frame
        if detections is None:
            return None
        return self.propose(tracks, detections, flow)

    def move(self, tracks: Tracks, flow: np.ndarray | None) -> None:
        if not len(tracks):
            return
        if flow is not None:
            tracks.keypoints, tracks.boxes = warp_poses(tracks.keypoints, tracks.boxes, flow)
        elif self.config.kalman:
            predicted = np.empty((len(tracks), 4))
            before = np.empty((len(tracks), 2))
            for i, kf in enumerate(tracks.kalman):  # filterpy objects, one per track
                before[i] = kf.centre
                predicted[i] = kf.predict()
            cx, cy, w, h = predicted.T
            shift = (predicted[:, :2] - before).astype(np.float32)
            tracks.keypoints = tracks.keypoints.copy()
            tracks.keypoints[:, :, :2] += shift[:, None, :]
            tracks.boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], -1).astype(np.float32)

    def propagated_boxes(self, tracks: Tracks, flow: np.ndarray | None) -> Detections:
        """Boxes of last frame's people, moved into this frame (source = their track ids).

        A box is the extent of the track's confident joints (score above ``keypoint_threshold``)
        that lie inside the frame, enlarged by ``propagate_box_expand``; its score is the mean score
        of those joints. Only people matched in the previous frame are propagated, and only while
        their last ``propagate_max_age`` poses did not all come from propagated boxes.
        """
        cfg = self.config
        if not cfg.propagate or not len(tracks):
            return Detections.empty()
        src = np.flatnonzero((tracks.last_seen == tracks.frame - 1) & (tracks.since_detection < cfg.propagate_max_age))
        if not len(src):
            return Detections.empty()
        kps = tracks.keypoints[src].copy()
        if flow is not None:  # joints that left the frame do not shape the box
            h, w = flow.shape[:2]
            outside = (kps[..., 0] < 0) | (kps[..., 1] < 0) | (kps[..., 0] > w - 1) | (kps[..., 1] > h - 1)
            kps[..., 2] = np.where(outside, 0.0, kps[..., 2])
        boxes, ok = keypoint_boxes(kps, cfg.keypoint_threshold, cfg.propagate_box_expand)
        conf = kps[..., 2] > cfg.keypoint_threshold
        scores = np.where(conf, kps[..., 2], 0).sum(-1) / np.maximum(conf.sum(-1), 1)
        if cfg.box_fallback:  # too few confident joints to shape a box: the track's moved box
            weak = conf.sum(-1) < cfg.fallback_joints
            boxes[weak] = tracks.boxes[src][weak]
            scores = np.where(weak & (conf.sum(-1) == 0), tracks.scores[src], scores)
            ok = ok | weak
        if flow is not None:
            boxes[:, 0::2] = boxes[:, 0::2].clip(0, w - 1)
            boxes[:, 1::2] = boxes[:, 1::2].clip(0, h - 1)
        ok &= (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1]) if cfg.box_fallback else True
        return Detections(boxes[ok], scores[ok].astype(np.float32), tracks.ids[src][ok])

    def propose(self, tracks: Tracks, detections: Detections, flow: np.ndarray | None) -> Detections:
        """Detections (all of them, first, tagged DETECTED) plus the surviving propagated boxes.

        The merge keeps every detection (the detector ran its own NMS); which propagated boxes
        survive depends on ``merge`` (see boxes.merge_proposals).
        """
        prop = self.propagated_boxes(tracks, flow)
        keep_det, keep_prop = merge_proposals(
            detections.boxes, detections.scores, prop.boxes, prop.scores, self.config.nms_threshold,
            one_to_one=self.config.merge == "one-to-one",
        )
        dets = detections.select(keep_det)
        return Detections(
            np.concatenate([dets.boxes, prop.boxes[keep_prop]]),
            np.concatenate([dets.scores, prop.scores[keep_prop]]),
            np.concatenate([np.full(len(dets), DETECTED, np.int64), prop.source[keep_prop]]),
        )
