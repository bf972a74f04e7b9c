"""Second stage of tracking, once per frame: match the frame's poses to the moved tracks.

Similarity (OKS, or OKS blended with box IoU where too few joints are confident), greedy or
Hungarian matching, and the track life cycle (:class:`TrackState`): unmatched poses start tracks,
tracks not matched within the memory window are deleted, ids are reported from ``min_hits`` matches.
Which poses came from propagated boxes is read from ``Poses.source``, set by the pose estimator.
"""

from __future__ import annotations

import numpy as np

from posetrack.keypoints import KeypointLayout
from posetrack.oks import oks_matrix
from posetrack.tracker.boxes import box_area, iou_matrix
from posetrack.tracker.config import TrackerConfig
from posetrack.tracker.kalman import BoxKalman
from posetrack.tracker.matching import match
from posetrack.tracker.smoothing import OneEuroFilter
from posetrack.tracker.tracks import Tracks, TrackState
from posetrack.types import Poses


class Associator:
    def __init__(self, config: TrackerConfig, layout: KeypointLayout) -> None:
        self.config = config
        self.layout = layout
        self.sigmas = layout.sigma_array

    @property
    def window(self) -> int:
        """Frames a track stays matchable after it was last seen."""
        return min(self.config.memory, self.config.max_age)

    def similarity(self, poses: Poses, keypoints: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        """(N poses x M tracks) similarity to tracks' moved ``keypoints`` (M, K, 3) and ``boxes``.

        OKS over the joints confident in both poses; the scale s^2 is the mean of the areas of the
        two poses' boxes (the box a pose was estimated in, a track's box moved into this frame).
        Measured better than the extent of the confident joints, which shrinks for a person half
        hidden or half out of the frame and makes OKS needlessly strict for them (docs/tracking.md).
        With ``box_fallback``, a pair with fewer than ``fallback_joints`` joints confident in both
        blends OKS with the IoU of the two boxes, weight on IoU 1 - joints / fallback_joints: OKS
        over two or three joints says little, while the box of the flow-moved track still says
        where that person is now.
        """
        if not len(poses) or not len(keypoints):
            return np.zeros((len(poses), len(keypoints)))
        cfg = self.config
        thr = cfg.keypoint_threshold
        a = poses.keypoints
        area_a = box_area(poses.boxes)
        area_b = box_area(boxes)
        counted = (a[:, None, :, 2] > thr) & (keypoints[None, :, :, 2] > thr)
        oks = oks_matrix(a, keypoints, (area_a[:, None] + area_b[None]) / 2, self.sigmas, counted)
        if not cfg.box_fallback:
            return oks
        weight = np.clip(counted.sum(-1) / cfg.fallback_joints, 0.0, 1.0)
        return np.where(weight < 1.0, weight * oks + (1.0 - weight) * iou_matrix(poses.boxes, boxes), oks)

    def __call__(self, tracks: Tracks, poses: Poses) -> Poses:
        """Assign track ids to ``poses`` (a copy is returned), update ``tracks`` and advance them
        to the next frame. The tracks must have been moved into this frame (the propagator)."""
        if tracks.moved_to != tracks.frame:
            raise RuntimeError("associate called before the tracks were propagated into this frame")
        cfg = self.config
        frame = tracks.frame
        n = len(poses)
        age = frame - tracks.last_seen
        cand = np.flatnonzero((age >= 1) & (age <= self.window))
        sim = self.similarity(poses, tracks.keypoints[cand], tracks.boxes[cand])
        pairs = match(sim, cfg.similarity_threshold, cfg.matching, tracks.last_seen[cand].astype(np.float64))
        rows = np.array([r for r, _ in pairs], dtype=np.intp)
        matched = cand[np.array([c for _, c in pairs], dtype=np.intp)]
        propagated = poses.source >= 0
        kps, boxes, scores = poses.keypoints, poses.boxes, poses.scores
        gaps = np.ones(n, dtype=np.int64)
        track_of = np.full(n, -1, dtype=np.intp)  # row in tracks of each pose
        if len(rows):
            gaps[rows] = frame - tracks.last_seen[matched]
            tracks.keypoints[matched] = kps[rows]
            tracks.boxes[matched] = boxes[rows]
            tracks.scores[matched] = scores[rows]
            tracks.last_seen[matched] = frame
            tracks.hits[matched] += 1
            tracks.since_detection[matched] = np.where(propagated[rows], tracks.since_detection[matched] + 1, 0)
            if tracks.kalman:
                for r, i in zip(rows, matched):  # filterpy objects, one per matched track
                    tracks.kalman[i].update(boxes[r])
            track_of[rows] = matched
        new = np.flatnonzero(track_of < 0)
        if len(new):
            start = len(tracks)
            tracks.add(kps[new], boxes[new], scores[new], propagated[new].astype(np.int64),
                       np.full(len(new), TrackState.TENTATIVE))
            if cfg.kalman:
                tracks.kalman.extend(BoxKalman(boxes[i]) for i in new)
            if cfg.smoothing == "one-euro":
                tracks.smoother.extend(OneEuroFilter(cfg.smoothing_min_cutoff, cfg.smoothing_beta) for _ in new)
            track_of[new] = np.arange(start, start + len(new))
        seen = tracks.last_seen == frame
        confirmed = tracks.hits >= cfg.min_hits
        tracks.state = np.where(seen, np.where(confirmed, TrackState.CONFIRMED, TrackState.TENTATIVE),
                                TrackState.LOST).astype(np.int8)
        out_kps = kps.copy()
        if tracks.smoother:
            for i in range(n):  # one filter per person
                out_kps[i, :, :2] = tracks.smoother[track_of[i]](kps[i, :, :2], gaps[i])
        ids = np.where(tracks.state[track_of] == TrackState.CONFIRMED, tracks.ids[track_of], -1)
        # A track that cannot be matched in the next frame is gone for good.
        tracks.keep(frame + 1 - tracks.last_seen <= self.window)
        tracks.frame += 1
        return Poses(out_kps, boxes.copy(), scores.copy(), poses.layout, ids, poses.source.copy())
