"""Keypoint layouts: joint names, flip pairs, skeleton and OKS sigmas.

A layout travels with every set of poses (see :class:`posetrack.types.Poses`), so no stage assumes
which joints it is looking at. COCO-17 is what COCO-trained models predict; PoseTrack-17 is the
PoseTrack 2018 annotation layout (COCO's with the eyes replaced by head_bottom and head_top);
CrowdPose-14 is what CrowdPose-trained models (HigherHRNet's CrowdPose networks) predict.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from posetrack.errors import ConfigError


@dataclass(frozen=True)
class KeypointLayout:
    """Everything that depends on which joints a model predicts."""

    name: str
    joints: tuple[str, ...]
    flip_pairs: tuple[tuple[int, int], ...]
    skeleton: tuple[tuple[int, int], ...]  # 0-based joint index pairs
    sigmas: tuple[float, ...]  # OKS falloff per joint (COCO's k_i)
    estimated: tuple[str, ...] = field(default=())  # joints filled in by a conversion, not a model

    @property
    def num_joints(self) -> int:
        return len(self.joints)

    def index(self, joint: str) -> int:
        return self.joints.index(joint)

    @property
    def flip_index(self) -> np.ndarray:
        """Permutation that swaps left and right joints (for flip test)."""
        perm = np.arange(self.num_joints)
        for a, b in self.flip_pairs:
            perm[a], perm[b] = b, a
        return perm

    @property
    def sigma_array(self) -> np.ndarray:
        return np.asarray(self.sigmas, dtype=np.float64)


_COCO_JOINTS = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
)  # fmt: skip
_LR_PAIRS = ((5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16))
# COCO's skeleton (1-based in the annotation files), here 0-based.
_SKELETON = (
    (15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6), (5, 7),
    (6, 8), (7, 9), (8, 10), (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6),
)  # fmt: skip
# pycocotools' keypoint OKS sigmas.
_COCO_SIGMAS = (
    0.026, 0.025, 0.025, 0.035, 0.035, 0.079, 0.079, 0.072, 0.072,
    0.062, 0.062, 0.107, 0.107, 0.087, 0.087, 0.089, 0.089,
)  # fmt: skip

COCO17 = KeypointLayout(
    name="coco17",
    joints=_COCO_JOINTS,
    flip_pairs=((1, 2), (3, 4)) + _LR_PAIRS,
    skeleton=_SKELETON,
    sigmas=_COCO_SIGMAS,
)

# PoseTrack 2018: indices 1 and 2 hold head_bottom and head_top instead of the eyes; they are not a
# left/right pair. The ears exist in the layout but are never annotated in PoseTrack.
POSETRACK17 = KeypointLayout(
    name="posetrack17",
    joints=("nose", "head_bottom", "head_top") + _COCO_JOINTS[3:],
    flip_pairs=((3, 4),) + _LR_PAIRS,
    skeleton=_SKELETON,
    sigmas=_COCO_SIGMAS,
)

# PoseTrack-17 joints computed from a COCO-17 model's output (see coco_to_posetrack).
POSETRACK17_FROM_COCO = KeypointLayout(
    name="posetrack17-from-coco",
    joints=POSETRACK17.joints,
    flip_pairs=POSETRACK17.flip_pairs,
    skeleton=POSETRACK17.skeleton,
    sigmas=POSETRACK17.sigmas,
    estimated=("head_bottom", "head_top"),
)

# CrowdPose's 14 joints in its annotation order: COCO's body joints without the face, then head and
# neck. Flip pairs are HigherHRNet's FLIP_CONFIG['CROWDPOSE'] (head and neck map to themselves); the
# sigmas are crowdposetools' (its cocoeval: COCO's limb sigmas, 0.079 for head and neck).
CROWDPOSE14 = KeypointLayout(
    name="crowdpose14",
    joints=(
        "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
        "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle", "head", "neck",
    ),
    flip_pairs=((0, 1), (2, 3), (4, 5), (6, 7), (8, 9), (10, 11)),
    skeleton=((12, 13), (13, 0), (13, 1), (0, 2), (2, 4), (1, 3), (3, 5), (13, 7), (13, 6), (6, 8),
              (8, 10), (7, 9), (9, 11)),
    sigmas=(0.079, 0.079, 0.072, 0.072, 0.062, 0.062, 0.107, 0.107, 0.087, 0.087, 0.089, 0.089, 0.079, 0.079),
)  # fmt: skip

LAYOUTS: dict[str, KeypointLayout] = {
    layout.name: layout for layout in (COCO17, POSETRACK17, POSETRACK17_FROM_COCO, CROWDPOSE14)
}


def get_layout(name: str) -> KeypointLayout:
    try:
        return LAYOUTS[name]
    except KeyError:
        raise ConfigError(
            f"unknown keypoint layout '{name}' (known: {', '.join(sorted(LAYOUTS))})"
        ) from None


# Fractions used to estimate PoseTrack's head joints from COCO joints. The neck point is the middle
# of the shoulders; PoseTrack's head_bottom (chin/upper neck) lies a third of the way from there to
# the nose, and head_top lies as far above the nose as the nose is above head_bottom, pushed a
# little further (x1.2) because the crown sits above the eyes. Chosen from PoseTrack's annotation
# guide; scores are the minimum of the scores they were computed from.
HEAD_BOTTOM_FRACTION = 1.0 / 3.0
HEAD_TOP_EXTENSION = 1.2


def coco_to_posetrack(keypoints: np.ndarray) -> np.ndarray:
    """Convert (N, 17, 3) COCO-17 keypoints to the PoseTrack-17 layout.

    head_bottom and head_top are estimated (layout ``posetrack17-from-coco`` marks them so); every
    other joint is copied. Works on any leading shape ``(..., 17, 3)``.
    """
    kp = np.asarray(keypoints, dtype=np.float32)
    if kp.shape[-2:] != (17, 3):
        raise ValueError(f"expected (..., 17, 3) COCO keypoints, got {kp.shape}")
    out = kp.copy()
    nose, lsh, rsh = kp[..., 0, :2], kp[..., 5, :2], kp[..., 6, :2]
    neck = (lsh + rsh) / 2.0
    head_bottom = neck + HEAD_BOTTOM_FRACTION * (nose - neck)
    head_top = nose + HEAD_TOP_EXTENSION * (nose - head_bottom)
    score = np.minimum(np.minimum(kp[..., 0, 2], kp[..., 5, 2]), kp[..., 6, 2])
    out[..., 1, :2], out[..., 1, 2] = head_bottom, score
    out[..., 2, :2], out[..., 2, 2] = head_top, score
    return out


def output_layout(layout: KeypointLayout, wanted: str | None) -> tuple[KeypointLayout, bool]:
    """The layout poses are returned in for ``pose.output_layout``, and whether COCO -> PoseTrack
    conversion (:func:`coco_to_posetrack`) is needed: the one rule both estimators follow."""
    if wanted is None or wanted == layout.name:
        return layout, False
    if wanted in ("posetrack17", POSETRACK17_FROM_COCO.name) and layout.name == "coco17":
        return POSETRACK17_FROM_COCO, True
    raise ConfigError(
        f"pose.output_layout: cannot convert {layout.name} keypoints to '{wanted}'"
        " (supported: coco17 -> posetrack17)"
    )
