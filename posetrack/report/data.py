"""What a run report shows, gathered while the run streams: cheap per-frame bookkeeping only.

:class:`RunRecorder` sees every :class:`~posetrack.types.FrameResult` once. It keeps per-frame
counts, the spans of every track id, running per-joint confidence sums, the per-stage seconds spent
on each frame, and small drawn thumbnails of a bounded number of key frames (the first, the last and
the frames where the most tracks start or end). Nothing needs the video again afterwards.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field

import numpy as np

from posetrack.keypoints import KeypointLayout
from posetrack.types import FrameResult

THUMB_WIDTH = 240  # pixels; thumbnails are drawn at this width
MAX_EVENT_FRAMES = 8  # key frames besides the first and the last
POOL_FACTOR = 4  # thumbnails kept during the run per key frame shown (a few KB each)


@dataclass
class KeyFrame:
    frame_index: int
    timestamp: float
    reason: str  # "first", "last", or e.g. "+2 / -1 tracks"
    jpeg: bytes


@dataclass
class _Track:
    spans: list[list[int]] = field(default_factory=list)  # [first, last] frame index, inclusive
    frames: int = 0
    last_pos: int = -2  # position (processed frame count) where it was last seen


def _count(ids: set[int], one: str, many: str) -> str:
    listed = ", ".join(str(i) for i in sorted(ids)[:4]) + (", ..." if len(ids) > 4 else "")
    return f"track {listed} {one}" if len(ids) == 1 else f"{len(ids)} tracks ({listed}) {many}"


def thumbnail(image: np.ndarray, result: FrameResult, threshold: float, width: int = THUMB_WIDTH) -> bytes:
    """A small JPEG of the frame with its poses drawn at thumbnail scale (drawing small is cheap)."""
    import cv2

    from posetrack.types import Poses
    from posetrack.video.render import draw_poses

    h, w = image.shape[:2]
    scale = min(1.0, width / max(1, w))
    small = cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    p = result.poses
    kp = p.keypoints.copy()
    kp[..., :2] *= scale
    scaled = Poses(kp, p.boxes * scale, p.scores, p.layout, p.track_ids)
    drawn = draw_poses(small, scaled, threshold, inplace=True)
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(drawn, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 85])
    return buf.tobytes() if ok else b""


class RunRecorder:
    """Collects a run's report data from the streamed results (call :meth:`add` per frame).

    ``stage_totals`` is a live mapping of cumulative seconds per stage (the pipeline's
    ``times.seconds``); the difference between two frames is that frame's time per stage.
    Frame images are optional: without them there are no key frames.
    """

    def __init__(self, layout: KeypointLayout, stage_totals=None, threshold: float = 0.3,
                 max_events: int = MAX_EVENT_FRAMES) -> None:
        self.layout = layout
        self.threshold = threshold
        self.max_events = max_events
        self._stage_totals = stage_totals
        self._stage_last: dict[str, float] = {}
        self.stage_per_frame: dict[str, list[float]] = {}
        self.frame_indices: list[int] = []
        self.timestamps: list[float] = []
        self.people: list[int] = []
        self.tracks: dict[int, _Track] = {}
        self.untracked = 0
        k = layout.num_joints
        self.joint_sum = np.zeros(k, np.float64)
        self.joint_count = 0
        self.first: KeyFrame | None = None
        self._events: list[tuple[int, int, int, KeyFrame]] = []  # min-heap (score, spread, seq, frame)
        self._seq = 0
        self._prev: tuple[FrameResult, set[int]] | None = None
        self._prev_ids: set[int] = set()

    # -- per frame ------------------------------------------------------------------------------
    def add(self, result: FrameResult) -> None:
        pos = len(self.frame_indices)
        self.frame_indices.append(int(result.frame_index))
        self.timestamps.append(float(result.timestamp))
        poses = result.poses
        self.people.append(len(poses))
        if len(poses):
            self.joint_sum += poses.keypoints[..., 2].sum(axis=0, dtype=np.float64)
            self.joint_count += len(poses)
        ids = {int(t) for t in poses.track_ids if t >= 0}
        self.untracked += int((poses.track_ids < 0).sum())
        for tid in ids:
            track = self.tracks.setdefault(tid, _Track())
            if track.last_pos == pos - 1 and track.spans:
                track.spans[-1][1] = result.frame_index
            else:
                track.spans.append([result.frame_index, result.frame_index])
            track.frames += 1
            track.last_pos = pos
        self._record_stages()
        self._key_frames(result, ids, pos)

    def _record_stages(self) -> None:
        if self._stage_totals is None:
            return
        n = len(self.frame_indices)
        for stage, total in list(self._stage_totals.items()):
            series = self.stage_per_frame.setdefault(stage, [0.0] * (n - 1))
            series.append(float(total) - self._stage_last.get(stage, 0.0))
            self._stage_last[stage] = float(total)
        for series in self.stage_per_frame.values():  # a stage that did not run this frame
            if len(series) < n:
                series.append(0.0)

    def _key_frames(self, result: FrameResult, ids: set[int], pos: int) -> None:
        started = ids - self._prev_ids
        ended = self._prev_ids - ids
        if result.image is not None:
            if pos == 0:
                self.first = KeyFrame(result.frame_index, result.timestamp, "first",
                                      thumbnail(result.image, result, self.threshold))
            else:
                if started:  # shown on the frame where they appear
                    self._offer(result, result.image, len(started), _count(started, "starts", "start"))
                if ended and self._prev is not None and self._prev[0].image is not None:
                    prev = self._prev[0]  # shown on the last frame where they were seen
                    self._offer(prev, prev.image, len(ended), _count(ended, "ends", "end"))
            self._prev = (result, ids)
        self._prev_ids = ids

    def _offer(self, result: FrameResult, image: np.ndarray, score: int, reason: str) -> None:
        """Keep a pool of the frames where the most tracks start or end (bounded memory).

        Among frames with as many starts/ends, a fixed pseudo-random priority per frame index
        decides, so the pool samples the whole run evenly rather than keeping only its start."""
        if self.max_events <= 0:
            return
        self._seq += 1
        spread = (int(result.frame_index) * 2654435761) % (1 << 32)  # Knuth's multiplicative hash
        key = (score, spread, self._seq)  # the counter breaks the remaining ties
        pool = POOL_FACTOR * self.max_events
        if len(self._events) >= pool and key[:2] <= self._events[0][:2]:
            return  # not better than the weakest kept: no thumbnail made
        frame = KeyFrame(result.frame_index, result.timestamp, reason, thumbnail(image, result, self.threshold))
        if len(self._events) >= pool:
            heapq.heapreplace(self._events, (*key, frame))
        else:
            heapq.heappush(self._events, (*key, frame))

    def _chosen_events(self) -> list[KeyFrame]:
        """``max_events`` frames of the pool: most tracks starting/ending first, then (greedily)
        the frame farthest from those already chosen and from the first and last frames."""
        merged: dict[int, tuple[int, KeyFrame]] = {}
        for score, _, _, f in sorted(self._events, key=lambda e: e[2]):
            if f.frame_index in merged:  # offered twice: tracks start there and others end there
                s0, kept = merged[f.frame_index]
                kept.reason += ", " + f.reason
                merged[f.frame_index] = (s0 + score, kept)
            else:
                merged[f.frame_index] = (score, f)
        anchors = [self.frame_indices[0], self.frame_indices[-1]] if self.frame_indices else []
        chosen: list[KeyFrame] = []
        candidates = list(merged.values())
        while candidates and len(chosen) < self.max_events:
            taken = anchors + [c.frame_index for c in chosen]
            best = max(candidates, key=lambda item, taken=taken: (
                item[0], min((abs(item[1].frame_index - t) for t in taken), default=0)))
            candidates.remove(best)
            chosen.append(best[1])
        return sorted(chosen, key=lambda f: f.frame_index)

    # -- at the end ------------------------------------------------------------------------------
    def key_frames(self) -> list[KeyFrame]:
        """First frame, event frames in time order, last frame (each frame once)."""
        frames = [f for f in [self.first] if f is not None]
        seen = {f.frame_index for f in frames}
        for f in self._chosen_events():
            if f.frame_index in seen:
                next(k for k in frames if k.frame_index == f.frame_index).reason += ", " + f.reason
                continue
            frames.append(f)
            seen.add(f.frame_index)
        if self._prev is not None and self._prev[0].image is not None:
            last = self._prev[0]
            if last.frame_index not in seen:
                frames.append(KeyFrame(last.frame_index, last.timestamp, "last",
                                       thumbnail(last.image, last, self.threshold)))
            else:
                next(f for f in frames if f.frame_index == last.frame_index).reason += ", last"
        self._prev = None  # the image is no longer needed
        return frames

    def data(self) -> dict:
        """The report's numbers (also embedded in the page as JSON)."""
        joint_mean = (self.joint_sum / self.joint_count) if self.joint_count else np.full(len(self.joint_sum), np.nan)
        tracks = {
            str(tid): {"frames": t.frames, "spans": t.spans}
            for tid, t in sorted(self.tracks.items())
        }
        return {
            "frames": len(self.frame_indices),
            "frame_indices": self.frame_indices,
            "timestamps": [None if math.isnan(t) else round(t, 6) for t in self.timestamps],
            "people_per_frame": self.people,
            "people": int(sum(self.people)),
            "untracked_people": self.untracked,
            "tracks": tracks,
            "num_tracks": len(tracks),
            "joints": list(self.layout.joints),
            "joint_confidence": [None if np.isnan(v) else round(float(v), 4) for v in joint_mean],
            "stage_seconds": {s: round(float(sum(v)), 6) for s, v in self.stage_per_frame.items()},
            "stage_seconds_per_frame": {s: [round(x, 6) for x in v] for s, v in self.stage_per_frame.items()},
        }
