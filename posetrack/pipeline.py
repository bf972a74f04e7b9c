"""The frame loop: decode → detect → propagate (flow) → pose → associate, batched across frames.

The loop is a plain generator over (video, config) with no hidden global state, so it can be run
per video on any worker. It works in windows of ``pipeline.batch_frames`` frames:

1. flow between consecutive frames does not depend on tracking: all pairs of the window are
   submitted at once to ``pipeline.flow_workers`` threads (posetrack.flow.pool);
2. the detector runs on the window (in its own ``detector.batch_size`` chunks);
3. pose estimation on the DETECTED boxes does not depend on tracking either: with
   ``pipeline.pose_ahead`` (on CUDA by default), one large batch for the whole window;
4. then frame by frame: propagate the tracks (flow) and merge with the detections, estimate only
   the surviving propagated boxes (all boxes without pose_ahead), finish the frame's poses
   (rescoring, OKS-NMS over all its boxes), associate.

Without pose_ahead every frame's pose batches are those of a window of 1, so the results are
bit-identical for every window size; with it, a crop's heatmaps may differ in the last bits with
the batch it shares (oneDNN on the CPU, cuDNN on the GPU), within float tolerance
(tests/test_pipeline.py). Frames are decoded on a background
thread and the annotated video is encoded on the writer's own thread. On CUDA each frame is copied
to the GPU once (pinned memory, non-blocking) and the detector and the pose crops read it there.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import defaultdict
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np

from posetrack.config import PipelineConfig
from posetrack.cpu_memory import keep_freed_memory
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
        device=None,
    ) -> None:
        self.config = config
        self.device = device  # a torch.device; frames are uploaded once when it is CUDA
        keep_freed_memory()  # per-frame tensors reuse memory instead of faulting in fresh pages
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
        return cls(config, pose, detector, flow, tracker_factory, device=torch_device)

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
        from posetrack.flow.pool import FlowPool

        tracker = self.tracker_factory()
        times = self.times
        times.reset()  # per run: a summary reports this video's times only
        loop = self.config.pipeline
        previous = None
        pool = FlowPool(self.flow, loop.flow_workers, lambda s: times.add("flow", s)) if self.flow else None
        try:
            for window in _batches(_prefetch(frames, times), loop.batch_frames):
                window = [self._upload(f) for f in window]
                flows: list[Future | None] = []
                for frame in window:
                    image = frame.image if frame.device_image is None or not self._flow_on_device else frame.device_image
                    flows.append(None if pool is None or previous is None else pool.submit(previous, image))
                    previous = image
                t0 = time.perf_counter()
                if self.detector is not None:
                    detections = self.detector.detect(window)
                else:
                    detections = [Detections.empty() for _ in window]
                t1 = time.perf_counter()
                times.add("detect", t1 - t0)
                detected_kps = None
                if self._two_phase:
                    detected_kps = self.pose.keypoints_in_boxes([_image(f) for f in window], detections)
                    times.add("pose", time.perf_counter() - t1)
                for i, frame in enumerate(window):
                    flow = flows[i].result() if flows[i] is not None else None
                    kps = detected_kps[i] if detected_kps is not None else None
                    yield self._step(frame, detections[i], kps, flow, tracker, keep_images)
        finally:
            if pool is not None:
                pool.close()

    @property
    def _two_phase(self) -> bool:
        """Pose on detected boxes ahead for the window (``pipeline.pose_ahead``), for top-down
        estimators that can estimate some boxes now and the others later (TopDownEstimator)."""
        if not (self.pose.needs_boxes and hasattr(self.pose, "keypoints_in_boxes")):
            return False
        mode = self.config.pipeline.pose_ahead
        if mode == "auto":
            return getattr(getattr(self.pose, "device", None), "type", "cpu") == "cuda"
        return mode == "on"

    @property
    def _flow_on_device(self) -> bool:
        """Flow estimators that take device tensors (RAFT on the GPU) get the uploaded frames."""
        return getattr(self.flow, "accepts_tensors", False)

    def _upload(self, frame: Frame) -> Frame:
        """On CUDA: the frame copied to the GPU once (pinned host memory, non-blocking copy)."""
        if self.device is None or getattr(self.device, "type", "cpu") != "cuda":
            return frame
        import torch

        host = torch.from_numpy(np.ascontiguousarray(frame.image)).pin_memory()
        frame.device_image = host.to(self.device, non_blocking=True)
        return frame

    def _step(self, frame: Frame, dets: Detections, detected_kps: np.ndarray | None, flow,
              tracker: Tracker, keep_image: bool) -> FrameResult:
        times = self.times
        t0 = time.perf_counter()
        boxes = tracker.propagate(dets if self.pose.needs_boxes else None, flow)
        t1 = time.perf_counter()
        if detected_kps is None:
            poses = self.pose.estimate(_image(frame), boxes)
        else:
            # propagate() returns every detection, first and in order, then the propagated boxes
            n = len(dets)
            if len(boxes) < n or boxes.propagated[:n].any() or not boxes.propagated[n:].all():
                raise RuntimeError("the tracker's proposals must list all detections first, in order")
            extra = boxes.select(slice(n, None))
            kps = self.pose.keypoints_in_boxes([_image(frame)], [extra])[0] if len(extra) else \
                detected_kps[:0]
            poses = self.pose.finish(np.concatenate([detected_kps, kps]), boxes)
        t2 = time.perf_counter()
        poses = tracker.associate(poses)
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


def _image(frame: Frame):
    """What the pose estimator reads: the frame on the GPU when uploaded, else the numpy frame."""
    return frame.image if frame.device_image is None else frame.device_image
