"""The official training transforms: top-down crop augmentation and bottom-up random affine + flip.

Top-down follows HRNet ``JointsDataset.__getitem__`` / ``half_body_transform`` / ``fliplr_joints`` /
``get_affine_transform``; bottom-up follows HigherHRNet ``RandomAffineTransform`` and
``RandomHorizontalFlip``. Same distributions, same geometry, same OpenCV calls. One difference on
purpose: every random draw comes from the ``numpy.random.Generator`` passed in (the official code
mixes the global ``random`` and ``np.random`` states), so a (seed, epoch, sample) triple fixes a
sample whatever the number of workers or processes, which is what makes ``--resume`` and DDP exact.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

PIXEL_STD = 200.0


# -- top-down ----------------------------------------------------------------------------------------


def _get_dir(point: Sequence[float], rot_rad: float) -> list[float]:
    sn, cs = np.sin(rot_rad), np.cos(rot_rad)
    return [point[0] * cs - point[1] * sn, point[0] * sn + point[1] * cs]


def _third_point(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    direct = a - b
    return b + np.array([-direct[1], direct[0]], dtype=np.float32)


def get_affine_transform(
    center: np.ndarray, scale: np.ndarray, rot: float, output_size: Sequence[int], inv: bool = False
) -> np.ndarray:
    """Official ``get_affine_transform`` with rotation (degrees, counter-clockwise in the image).

    The three point pairs are built with the official dtypes (float32 points, float64 rotated
    direction) and solved by ``cv2.getAffineTransform``. ``scale[0] * 200`` source pixels map to the
    output width; ``scale[1]`` is unused, as in the official code.
    """
    scale = np.asarray(scale, dtype=np.float32)
    center = np.asarray(center, dtype=np.float32)
    scale_tmp = scale * 200.0
    src_w = scale_tmp[0]
    dst_w, dst_h = output_size[0], output_size[1]
    rot_rad = np.pi * rot / 180
    src_dir = _get_dir([0, src_w * -0.5], rot_rad)
    dst_dir = np.array([0, dst_w * -0.5], np.float32)
    src = np.zeros((3, 2), dtype=np.float32)
    dst = np.zeros((3, 2), dtype=np.float32)
    src[0, :] = center
    src[1, :] = center + np.asarray(src_dir)
    dst[0, :] = [dst_w * 0.5, dst_h * 0.5]
    dst[1, :] = np.array([dst_w * 0.5, dst_h * 0.5]) + dst_dir
    src[2:, :] = _third_point(src[0, :], src[1, :])
    dst[2:, :] = _third_point(dst[0, :], dst[1, :])
    if inv:
        return cv2.getAffineTransform(np.float32(dst), np.float32(src))
    return cv2.getAffineTransform(np.float32(src), np.float32(dst))


def affine_points(points: np.ndarray, mat: np.ndarray) -> np.ndarray:
    """(..., 2) points through a (2, 3) affine map (float64)."""
    p = np.asarray(points, dtype=np.float64)
    return p @ mat[:, :2].T + mat[:, 2]


@dataclass(frozen=True)
class TopDownAugment:
    """Top-down training augmentation settings (official names in brackets)."""

    scale_factor: float = 0.35  # SCALE_FACTOR: scale x clip(N(1, sf), 1 - sf, 1 + sf)
    rotation_factor: float = 45.0  # ROT_FACTOR: clip(N(0, rf), -2 rf, 2 rf) degrees ...
    rotation_prob: float = 0.6  # ... with this probability, else 0
    flip: bool = True  # FLIP
    flip_prob: float = 0.5
    half_body_prob: float = 0.3  # PROB_HALF_BODY
    half_body_joints: int = 8  # NUM_JOINTS_HALF_BODY: needs more visible joints than this
    half_body_scale: float = 1.5


def half_body(
    joints: np.ndarray, vis: np.ndarray, upper_ids: Sequence[int], aspect_ratio: float, rng: np.random.Generator,
    scale_mult: float = 1.5,
) -> tuple[np.ndarray, np.ndarray] | tuple[None, None]:
    """Official ``half_body_transform``: centre/scale of the upper or lower body's visible joints.

    Quirk kept: the upper body is chosen when a *normal* draw is < 0.5 (probability ~0.69, not
    0.5) and it has more than 2 visible joints, else the lower body if it has more than 2, else
    the upper; fewer than 2 joints selected gives (None, None). The box is fitted to the aspect
    ratio and enlarged x1.5.
    """
    seen = vis[:, 0] > 0
    upper = np.zeros(len(joints), bool)
    upper[list(upper_ids)] = True
    up, low = joints[seen & upper], joints[seen & ~upper]
    if rng.standard_normal() < 0.5 and len(up) > 2:
        sel = up
    else:
        sel = low if len(low) > 2 else up
    if len(sel) < 2:
        return None, None
    sel = np.asarray(sel, dtype=np.float32)
    center = sel.mean(axis=0)[:2]
    left_top, right_bottom = np.amin(sel, axis=0), np.amax(sel, axis=0)
    w = right_bottom[0] - left_top[0]
    h = right_bottom[1] - left_top[1]
    if w > aspect_ratio * h:
        h = w * 1.0 / aspect_ratio
    elif w < aspect_ratio * h:
        w = h * aspect_ratio
    scale = np.array([w * 1.0 / PIXEL_STD, h * 1.0 / PIXEL_STD], dtype=np.float32) * scale_mult
    return center, scale.astype(np.float32)


def flip_joints(joints: np.ndarray, vis: np.ndarray, width: int, flip_pairs: Sequence[Sequence[int]]):
    """Official ``fliplr_joints``: x -> width - x - 1, left/right swapped; invisible joints zeroed."""
    joints = joints.copy()
    vis = vis.copy()
    joints[:, 0] = width - joints[:, 0] - 1
    perm = np.arange(len(joints))
    for a, b in flip_pairs:
        perm[a], perm[b] = b, a
    joints, vis = joints[perm], vis[perm]
    return joints * vis, vis


def topdown_sample(
    image: np.ndarray,
    joints: np.ndarray,
    vis: np.ndarray,
    center: np.ndarray,
    scale: np.ndarray,
    image_size: tuple[int, int],
    aug: TopDownAugment | None,
    rng: np.random.Generator | None,
    flip_pairs: Sequence[Sequence[int]],
    upper_ids: Sequence[int],
) -> tuple[np.ndarray, np.ndarray, dict]:
    """One training crop (h, w, 3) uint8 and its joints (K, 3) in crop pixels (third column = vis).

    The official order: half body (if more than ``half_body_joints`` visible and a uniform draw <
    prob), scale, rotation, flip of the *whole image* (then the centre follows,
    ``c_x -> W - c_x - 1``), ``cv2.warpAffine`` INTER_LINEAR, and the visible joints mapped through
    the same matrix. ``aug=None`` is the validation crop (no randomness).
    """
    joints = np.asarray(joints, dtype=np.float64).copy()
    vis = np.asarray(vis, dtype=np.float64).copy()
    c = np.asarray(center, dtype=np.float32).copy()
    s = np.asarray(scale, dtype=np.float32).copy()
    r = 0.0
    aspect = image_size[0] * 1.0 / image_size[1]
    if aug is not None:
        assert rng is not None
        if np.sum(vis[:, 0]) > aug.half_body_joints and rng.random() < aug.half_body_prob:
            ch, sh = half_body(joints, vis, upper_ids, aspect, rng, aug.half_body_scale)
            if ch is not None:
                c, s = ch, sh
        sf, rf = aug.scale_factor, aug.rotation_factor
        s = (s * np.clip(rng.standard_normal() * sf + 1, 1 - sf, 1 + sf)).astype(np.float32)
        r = float(np.clip(rng.standard_normal() * rf, -rf * 2, rf * 2)) if rng.random() <= aug.rotation_prob else 0.0
        if aug.flip and rng.random() <= aug.flip_prob:
            image = np.ascontiguousarray(image[:, ::-1, :])
            joints, vis = flip_joints(joints, vis, image.shape[1], flip_pairs)
            c[0] = image.shape[1] - c[0] - 1
    trans = get_affine_transform(c, s, r, image_size)
    crop = cv2.warpAffine(image, trans, (int(image_size[0]), int(image_size[1])), flags=cv2.INTER_LINEAR)
    seen = vis[:, 0] > 0.0
    joints[seen, 0:2] = affine_points(joints[seen, 0:2], trans)
    out = np.concatenate([joints[:, :2], vis[:, :1]], axis=1)
    return crop, out, {"center": c, "scale": s, "rotation": r, "matrix": trans}


# -- bottom-up ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BottomUpAugment:
    """Bottom-up training augmentation settings (HigherHRNet DATASET.* names in brackets)."""

    max_rotation: float = 30.0  # MAX_ROTATION: uniform in [-30, 30] degrees
    min_scale: float = 0.75  # MIN_SCALE / MAX_SCALE: uniform, times the short (or long) side
    max_scale: float = 1.5
    scale_type: str = "short"  # SCALE_TYPE
    max_translate: float = 40.0  # MAX_TRANSLATE: integer shift in [-40 s, 40 s), s = side / 200
    flip_prob: float = 0.5  # FLIP


def bottomup_matrix(center: np.ndarray, scale: float, res: int, rot: float = 0.0) -> np.ndarray:
    """Official ``_get_affine_matrix`` (3, 3): a ``200 * scale`` square around ``center`` onto ``res``.

    Rotation sign flipped "to match direction of rotation from cropping", about the output centre.
    """
    h = 200 * scale
    t = np.zeros((3, 3))
    t[0, 0] = float(res) / h
    t[1, 1] = float(res) / h
    t[0, 2] = res * (-float(center[0]) / h + 0.5)
    t[1, 2] = res * (-float(center[1]) / h + 0.5)
    t[2, 2] = 1
    if rot != 0:
        rot_rad = -rot * np.pi / 180
        sn, cs = np.sin(rot_rad), np.cos(rot_rad)
        rot_mat = np.zeros((3, 3))
        rot_mat[0, :2] = [cs, -sn]
        rot_mat[1, :2] = [sn, cs]
        rot_mat[2, 2] = 1
        t_mat = np.eye(3)
        t_mat[0, 2] = -res / 2
        t_mat[1, 2] = -res / 2
        t_inv = t_mat.copy()
        t_inv[:2, 2] *= -1
        t = t_inv @ rot_mat @ t_mat @ t
    return t


def bottomup_sample(
    image: np.ndarray,
    mask: np.ndarray,
    joints: np.ndarray,
    input_size: int,
    output_sizes: Sequence[int],
    aug: BottomUpAugment,
    rng: np.random.Generator,
    flip_index: Sequence[int],
) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
    """Random affine then random flip, as the official training ``Compose``.

    Returns the (input, input, 3) uint8 image, one float32 {0, 1} mask per output size (the
    ``mask`` warped as uint8 x255, then > 0.5; outside the image is 0 = ignored) and one
    (P, K, 3) joints array per output size (x, y in that output's pixels). Translation quirk kept:
    ``randint(-40 s, 40 s)`` with the bounds truncated to integers, high end exclusive, where
    ``s`` is the (augmented) scale in 200-pixel units. The flip mirrors x as ``R - x - 1`` at each
    output resolution and permutes the joints with ``flip_index``.
    """
    height, width = image.shape[:2]
    center = np.array((width / 2, height / 2))
    if aug.scale_type == "long":
        scale = max(height, width) / 200
    elif aug.scale_type == "short":
        scale = min(height, width) / 200
    else:
        raise ValueError(f"unknown scale type {aug.scale_type!r} (short, long)")
    aug_scale = rng.random() * (aug.max_scale - aug.min_scale) + aug.min_scale
    scale *= aug_scale
    aug_rot = (rng.random() * 2 - 1) * aug.max_rotation
    if aug.max_translate > 0:
        lo, hi = int(-aug.max_translate * scale), int(aug.max_translate * scale)
        center[0] += rng.integers(lo, hi) if hi > lo else lo
        center[1] += rng.integers(lo, hi) if hi > lo else lo
    masks, joints_out = [], []
    mask_u8 = (np.asarray(mask, dtype=np.float64) * 255).astype(np.uint8)
    for res in output_sizes:
        mat = bottomup_matrix(center, scale, res, aug_rot)[:2]
        m = cv2.warpAffine(mask_u8, mat, (res, res)) / 255
        masks.append((m > 0.5).astype(np.float32))
        j = np.array(joints, dtype=np.float64, copy=True)
        j[:, :, 0:2] = affine_points(j[:, :, 0:2], mat)
        joints_out.append(j)
    mat_in = bottomup_matrix(center, scale, input_size, aug_rot)[:2]
    image = cv2.warpAffine(image, mat_in, (input_size, input_size))
    if rng.random() < aug.flip_prob:
        image = np.ascontiguousarray(image[:, ::-1])
        fi = np.asarray(flip_index)
        for i, res in enumerate(output_sizes):
            masks[i] = np.ascontiguousarray(masks[i][:, ::-1])
            joints_out[i] = joints_out[i][:, fi]
            joints_out[i][:, :, 0] = res - joints_out[i][:, :, 0] - 1
    return image, masks, joints_out


def sample_rng(seed: int, epoch: int, index: int) -> np.random.Generator:
    """The generator of one sample in one epoch: independent of workers, ranks and resume points."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(epoch), int(index)]))
