"""The one box NMS agrees with torchvision's on score-ordered suppression."""

from __future__ import annotations

import numpy as np
import torch
from torchvision.ops import box_iou
from torchvision.ops import nms as tv_nms

from posetrack.boxes import iou_matrix, nms


def _boxes(rng, n):
    xy = rng.uniform(0, 200, (n, 2))
    wh = rng.uniform(10, 80, (n, 2))
    return np.concatenate([xy, xy + wh], 1).astype(np.float32)


def test_nms_keeps_what_torchvision_keeps():
    rng = np.random.default_rng(0)
    for threshold in (0.3, 0.5, 0.7):
        for _ in range(20):
            boxes = _boxes(rng, 40)
            scores = rng.permutation(40).astype(np.float32)  # distinct: no tie order to disagree on
            want = tv_nms(torch.from_numpy(boxes), torch.from_numpy(scores), threshold).numpy()
            np.testing.assert_array_equal(nms(boxes, scores, threshold), want)


def test_iou_matrix_is_torchvisions():
    rng = np.random.default_rng(1)
    a, b = _boxes(rng, 7), _boxes(rng, 5)
    np.testing.assert_allclose(iou_matrix(a, b), box_iou(torch.from_numpy(a), torch.from_numpy(b)).numpy(),
                               atol=1e-6)
