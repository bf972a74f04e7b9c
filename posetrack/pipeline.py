"""The frame loop: decode → detect → propagate (flow) → pose → associate, one frame at a time.

The loop is a plain generator over (video, config) with no hidden global state, so it can be run
per video on any worker. Work that can overlap does: frames are decoded on a background thread,
optical flow for a batch of frames runs on a worker thread while the detector (GPU) processes the
same batch, and the annotated video is rendered and encoded on the writer's own thread.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import defaultdict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np

from posetrack.config import PipelineConfig
from posetrack.detectors.base import Detector
from posetrack.flow.base import FlowEstimator
from posetrack.pose.base import PoseEstimator
from posetrack.tracker.base import Tracker
from posetrack.types import Detections, Frame, FrameResult

STAGES = ("decode", "detect", "flow", "pose", "track")


@dataclass
class StageTimes:
    """Wall seconds spent per stage (and frames seen), for the summary line and benchmarks."""

    seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    frames: int = 0
    people: int = 0

    def add(self, stage: str, seconds: float) -> None:
        self.seconds[stage] += seconds

    def reset(self) -> None:
        """Zero in place (observers such as the run report hold on to ``seconds``)."""
        self.seconds.clear()
        self.frames = self.people = 0


def _prefetch(frames: Iterable[Frame], times: StageTimes, depth: int = 8) -> Iterator[Frame]:
    """Decode on a background thread, `depth` frames ahead; errors re-raised in the caller."""
    q: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def worker() -> None:
        try:
            it = iter(frames)
            while not stop.is_set():
                t0 = time.perf_counter()
                try:
                    frame = next(it)
                except StopIteration:
                    break
                times.add("decode", time.perf_counter() - t0)
                q.put(frame)
            q.put(done)
        except BaseException as e:  # handed to the consumer
            q.put(e)

    thread = threading.Thread(target=worker, name="posetrack-decode", daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # unblock a worker waiting on a full queue
            try:
                q.get_nowait()
            except queue.Empty:
                thread.join(timeout=0.05)


def _batches(frames: Iterator[Frame], size: int) -> Iterator[list[Frame]]:
    batch: list[Frame] = []
    for frame in frames:
        batch.append(frame)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


class Pipeline:
    """Tracked poses for every frame of a video.

    Build it with :meth:`from_config`; stage objects passed in replace the ones the config would
    build (ground-truth boxes, an oracle pose estimator, a shared detector...).
    """

    def __init__(
        self,
        config: PipelineConfig,
        pose: PoseEstimator,
        detector: Detector | None,
        flow: FlowEstimator | None,
        tracker_factory: Callable[[], Tracker],
    ) -> None:
        self.config = config
        self.pose = pose
        self.detector = detector if pose.needs_boxes else None
        self.flow = flow
        self.tracker_factory = tracker_factory
        self.times = StageTimes()

    @classmethod
    def from_config(
        cls,
        config: PipelineConfig,
        device: str | None = None,
        *,
        detector: Detector | None = None,
        flow: FlowEstimator | None = None,
        pose: PoseEstimator | None = None,
        tracker_factory: Callable[[], Tracker] | None = None,
    ) -> Pipeline:
        from posetrack.devices import resolve_device

        torch_device = resolve_device(device or config.device)
        if pose is None:
            from posetrack.pose.factory import build_pose_estimator

            pose = build_pose_estimator(config.pose, torch_device)
        if detector is None and pose.needs_boxes and config.detector.name != "none":
            from posetrack.detectors import build_detector

            detector = build_detector(config.detector, torch_device)
        if flow is None and config.flow.name != "none":
            from posetrack.flow import build_flow

            flow = build_flow(config.flow, torch_device)
        if tracker_factory is None:
            from posetrack.tracker import build_tracker

            layout = pose.layout
            tracker_factory = lambda: build_tracker(config.tracker, layout)  # noqa: E731
        return cls(config, pose, detector, flow, tracker_factory)

    def open(self, source):
        """A VideoSource for a path (video file or image folder), honouring config.video."""
        from posetrack.video import open_source

        return open_source(source, self.config.video)

    def run(self, source, keep_images: bool = False) -> Iterator[FrameResult]:
        """Yield a FrameResult per frame of ``source`` (a path or an open VideoSource).

        ``keep_images`` attaches the RGB frame to each result (for rendering).
        """
        if isinstance(source, (str, Path)):
            with self.open(source) as opened:
                yield from self._run(opened, keep_images)
        else:
            yield from self._run(source, keep_images)

    def _run(self, frames: Iterable[Frame], keep_images: bool) -> Iterator[FrameResult]:
        tracker = self.tracker_factory()
        times = self.times
        times.reset()  # per run: a summary reports this video's times only
        batch_size = self.config.detector.batch_size if self.detector is not None else 1
        previous: np.ndarray | None = None
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="posetrack-flow") as pool:
            for batch in _batches(_prefetch(frames, times), batch_size):
                flows: list[Future | None] = []
                for frame in batch:
                    flows.append(None if self.flow is None or previous is None
                                 else pool.submit(self._timed_flow, previous, frame.image))
                    previous = frame.image
                t0 = time.perf_counter()
                if self.detector is not None:
                    detections = self.detector.detect(batch)
                else:
                    detections = [Detections.empty() for _ in batch]
                times.add("detect", time.perf_counter() - t0)
                for frame, dets, flow_future in zip(batch, detections, flows):
                    flow = flow_future.result() if flow_future is not None else None
                    yield self._step(frame, dets, flow, tracker, keep_images)

    def _timed_flow(self, previous: np.ndarray, current: np.ndarray) -> np.ndarray:
        t0 = time.perf_counter()
        flow = self.flow(previous, current)
        self.times.add("flow", time.perf_counter() - t0)
        return flow

    def _step(self, frame: Frame, dets: Detections, flow, tracker: Tracker, keep_image: bool) -> FrameResult:
        times = self.times
        t0 = time.perf_counter()
        boxes = tracker.propose(dets, flow) if self.pose.needs_boxes else None
        t1 = time.perf_counter()
        poses = self.pose.estimate(frame.image, boxes)
        t2 = time.perf_counter()
        poses = tracker.update(poses, flow)
        t3 = time.perf_counter()
        times.add("track", (t1 - t0) + (t3 - t2))
        times.add("pose", t2 - t1)
        times.frames += 1
        times.people += len(poses)
        return FrameResult(
            frame_index=frame.index,
            timestamp=frame.timestamp,
            width=frame.width,
            height=frame.height,
            poses=poses,
            name=frame.name,
            image=frame.image if keep_image else None,
        )
