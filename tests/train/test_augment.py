"""Augmentation geometry: joints follow the image under every transform; flips swap left/right."""

import cv2
import numpy as np
import pytest

from posetrack.keypoints import COCO17
from posetrack.pose.transforms import affine_matrices
from posetrack.train.augment import (
    BottomUpAugment,
    TopDownAugment,
    bottomup_sample,
    get_affine_transform,
    sample_rng,
    topdown_sample,
)

COLOURS = np.array([[(37 * k) % 256, (91 * k + 60) % 256, (53 * k + 120) % 256] for k in range(17)], np.uint8)


def dotted_image(joints, w=240, h=200):
    img = np.full((h, w, 3), 255, np.uint8)
    for k, (x, y) in enumerate(joints):
        cv2.circle(img, (int(round(x)), int(round(y))), 4, tuple(int(c) for c in COLOURS[k]), -1)
    return img


def colour_at(img, xy):
    x, y = int(round(xy[0])), int(round(xy[1]))
    return img[y, x].astype(int)


def planted_joints(rng, w=240, h=200):
    xy = np.stack([rng.uniform(70, w - 70, 17), rng.uniform(50, h - 50, 17)], 1)
    # keep the dots apart so each pixel belongs to one joint
    while np.min(np.linalg.norm(xy[:, None] - xy[None], axis=2) + np.eye(17) * 99) < 12:
        xy = np.stack([rng.uniform(70, w - 70, 17), rng.uniform(50, h - 50, 17)], 1)
    return xy


def test_rotation_free_transform_equals_inference_crop():
    c, s = np.array([100.5, 80.25], np.float32), np.array([0.9, 1.2], np.float32)
    np.testing.assert_allclose(get_affine_transform(c, s, 0, (192, 256)),
                               affine_matrices(c[None], s[None], (192, 256))[0], rtol=0, atol=1e-12)


@pytest.mark.parametrize("case", ["plain", "rotate", "flip", "half_body", "all"])
def test_topdown_joints_follow_image(case):
    rng = np.random.default_rng(hash(case) % 1000)
    xy = planted_joints(rng)
    img = dotted_image(xy)
    joints = np.concatenate([xy, np.ones((17, 1))], 1)
    vis = np.ones((17, 3))
    aug = TopDownAugment(
        scale_factor=0.25, rotation_factor=30 if case in ("rotate", "all") else 0,
        rotation_prob=1.0 if case in ("rotate", "all") else 0.0,
        flip=case in ("flip", "all"), flip_prob=1.0,
        half_body_prob=1.0 if case in ("half_body", "all") else 0.0,
    )
    centre, scale = np.array([120, 100], np.float32), np.array([1.2, 1.6], np.float32)
    for seed in range(4):
        crop, out, meta = topdown_sample(img, joints, vis, centre, scale, (96, 128), aug, sample_rng(seed, 0, 0),
                                         COCO17.flip_pairs, tuple(range(11)))
        if case in ("rotate", "all"):
            assert meta["rotation"] != 0
        perm = COCO17.flip_index if aug.flip else np.arange(17)
        for k in range(17):
            x, y = out[k, :2]
            if 2 <= x < 94 and 2 <= y < 126:
                got = colour_at(crop, (x, y))
                # the dot of the joint that lands in slot k (its left/right partner after a flip)
                assert np.abs(got - COLOURS[perm[k]].astype(int)).max() <= 40, (case, k, got)


def test_flip_swaps_pairs_and_mirrors_centre():
    rng = np.random.default_rng(5)
    xy = planted_joints(rng)
    img = dotted_image(xy)
    joints = np.concatenate([xy, np.ones((17, 1))], 1)
    aug = TopDownAugment(scale_factor=0.0, rotation_prob=0.0, flip=True, flip_prob=1.0, half_body_prob=0.0)
    centre = np.array([120, 100], np.float32)
    _, out, meta = topdown_sample(img, joints, np.ones((17, 3)), centre, np.array([1.0, 1.3], np.float32), (96, 128),
                                  aug, sample_rng(0, 0, 0), COCO17.flip_pairs, tuple(range(11)))
    assert meta["center"][0] == pytest.approx(240 - 120 - 1)
    # left wrist (9) now holds the mirrored right wrist (10), and the nose stays the nose
    _, plain, _ = topdown_sample(img, joints, np.ones((17, 3)), centre, np.array([1.0, 1.3], np.float32), (96, 128),
                                 None, None, COCO17.flip_pairs, tuple(range(11)))
    assert out[9, 1] == pytest.approx(plain[10, 1], abs=1e-3)
    assert out[0, 1] == pytest.approx(plain[0, 1], abs=1e-3)


def test_half_body_centres_on_selected_joints():
    xy = np.zeros((17, 2))
    xy[:11] = np.linspace([100, 40], [140, 90], 11)  # upper body
    xy[11:] = np.linspace([110, 120], [130, 190], 6)  # lower body
    joints = np.concatenate([xy, np.ones((17, 1))], 1)
    aug = TopDownAugment(scale_factor=0.0, rotation_prob=0.0, flip=False, half_body_prob=1.0)
    centres = set()
    for seed in range(30):
        _, _, meta = topdown_sample(np.zeros((200, 240, 3), np.uint8), joints, np.ones((17, 3)),
                                    np.array([120, 110], np.float32), np.array([1.0, 1.3], np.float32), (96, 128),
                                    aug, sample_rng(seed, 0, 0), COCO17.flip_pairs, tuple(range(11)))
        centres.add(tuple(np.round(meta["center"], 3)))
    assert centres == {(120.0, 65.0), (120.0, 155.0)}  # upper or lower body mean


def test_bottomup_joints_and_mask_follow_image():
    rng = np.random.default_rng(2)
    xy = planted_joints(rng)
    img = dotted_image(xy)
    mask = np.ones((200, 240), bool)
    mask[10:40, 10:60] = False  # an ignored (crowd) region, painted black in the image
    img[10:40, 10:60] = 0
    people = np.concatenate([xy, np.full((17, 1), 2.0)], 1)[None]
    aug = BottomUpAugment(max_rotation=30, min_scale=0.75, max_scale=1.5, max_translate=40, flip_prob=0.5)
    flipped = 0
    for seed in range(8):
        out_img, masks, joints = bottomup_sample(img, mask, people, 128, [128, 32], aug, sample_rng(seed, 1, 3),
                                                 COCO17.flip_index)
        assert out_img.shape == (128, 128, 3) and masks[0].shape == (128, 128) and masks[1].shape == (32, 32)
        assert set(np.unique(masks[0])) <= {0.0, 1.0}
        j = joints[0][0]
        swapped = abs(j[9, 0] - j[10, 0]) > 0 and np.abs(colour_at(out_img, j[9, :2]) - COLOURS[9]).max() > 40
        perm = COCO17.flip_index if swapped else np.arange(17)
        flipped += swapped
        for k in range(17):
            if 2 <= j[k, 0] < 126 and 2 <= j[k, 1] < 126:
                assert np.abs(colour_at(out_img, j[k, :2]) - COLOURS[perm[k]]).max() <= 40
        # the ignored region is black in the image where the mask is 0 (interior pixels)
        inner = cv2.erode((masks[0] == 0).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
        if inner.any():
            assert out_img[inner].max() < 60
        # lower resolution: the same joints, scaled by 1/4 (flip: x -> R - x - 1 at each resolution)
        j4 = joints[1][0]
        if not swapped:
            np.testing.assert_allclose(j4[:, :2] * 4, j[:, :2], atol=1e-6)
        else:
            np.testing.assert_allclose((j4[:, 0] + 1) * 4, j[:, 0] + 1, atol=1e-6)
    assert 0 < flipped < 8
