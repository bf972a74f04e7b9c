"""Filtering shared by all detectors: score threshold, minimum size, NMS (:func:`posetrack.boxes.nms`)."""

from __future__ import annotations

import numpy as np

from posetrack.boxes import nms as greedy_nms
from posetrack.detectors.config import DetectorConfig
from posetrack.types import Detections


def filter_boxes(boxes: np.ndarray, scores: np.ndarray, config: DetectorConfig, nms: bool = True) -> Detections:
    """Boxes (N, 4) x1,y1,x2,y2 with their scores after threshold, min size and (optionally) NMS."""
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    scores = np.asarray(scores, dtype=np.float32).reshape(-1)
    wh = boxes[:, 2:] - boxes[:, :2]
    keep = (scores >= config.score_threshold) & (wh.min(1, initial=np.inf) >= config.min_box_size)
    boxes, scores = boxes[keep], scores[keep]
    if nms and len(boxes) > 1:
        idx = greedy_nms(boxes, scores, config.nms_threshold)
        boxes, scores = boxes[idx], scores[idx]
    order = np.argsort(-scores, kind="stable")
    return Detections(boxes[order], scores[order])
