"""The renderer: a stable colour per track, and only confident keypoints drawn."""

from __future__ import annotations

import numpy as np
import pytest

from posetrack.keypoints import COCO17, POSETRACK17
from posetrack.types import Poses
from posetrack.video import draw_poses, track_colors
from posetrack.video.render import UNTRACKED_COLOR


def test_track_colours_are_stable_and_distinct():
    ids = np.arange(50)
    colors = track_colors(ids)
    assert colors.shape == (50, 3) and colors.dtype == np.uint8
    # the colour belongs to the id, not to its position in the frame or to the call
    np.testing.assert_array_equal(track_colors(ids[::-1]), colors[::-1])
    np.testing.assert_array_equal(track_colors([7]), colors[7:8])
    distance = np.abs(colors[:, None].astype(int) - colors[None]).sum(-1)
    assert (distance[~np.eye(50, dtype=bool)] > 0).all()
    neighbours = distance[np.arange(49), np.arange(1, 50)]
    assert neighbours.min() > 60  # consecutive ids are easy to tell apart
    assert tuple(track_colors([-1])[0]) == UNTRACKED_COLOR
    assert not (colors == UNTRACKED_COLOR).all(axis=1).any()


def _spread_pose(layout, track_id, score_low_joint=None, threshold=0.5):
    """One person whose joints sit on a 5x4 grid 30 px apart, inside a box (20, 20)-(200, 170)."""
    k = layout.num_joints
    kp = np.zeros((1, k, 3), np.float32)
    grid = np.array([(40 + 30 * (j % 5), 40 + 30 * (j // 5)) for j in range(k)], np.float32)
    kp[0, :, :2] = grid
    kp[0, :, 2] = 0.9
    if score_low_joint is not None:  # off the grid, so its limb crosses no other
        kp[0, score_low_joint] = (225, 185, threshold - 0.01)
    box = [[20, 20, 200, 170]]
    return Poses(kp, box, [0.9], layout, [track_id])


@pytest.mark.parametrize("layout", [COCO17, POSETRACK17])
def test_keypoints_above_threshold_are_drawn_and_below_hidden(layout):
    image = np.zeros((200, 240, 3), np.uint8)
    hidden = layout.index("left_wrist")  # joint 9: an end of one limb only
    poses = _spread_pose(layout, track_id=4, score_low_joint=hidden)
    out = draw_poses(image, poses, threshold=0.5)
    assert out is not image and not image.any()  # the input frame is left alone
    color = track_colors([4])[0].astype(int)
    for j in range(layout.num_joints):
        x, y = poses.keypoints[0, j, :2].astype(int)
        if j == hidden:
            assert not out[y - 2 : y + 3, x - 2 : x + 3].any(), "a hidden joint was drawn"
        else:
            assert out[y, x].astype(int).sum() > 200, f"joint {j} not drawn"
    # the limb to the hidden joint (left_elbow -> left_wrist) is hidden too
    elbow = layout.index("left_elbow")
    on_limb = (0.25 * poses.keypoints[0, elbow, :2] + 0.75 * poses.keypoints[0, hidden, :2]).astype(int)
    assert not out[on_limb[1] - 1 : on_limb[1] + 2, on_limb[0] - 1 : on_limb[0] + 2].any()
    shown = draw_poses(image, poses, threshold=0.4)
    assert shown[on_limb[1], on_limb[0]].any()
    # a visible limb is drawn in the track's colour: left_ankle (40, 130) -> left_knee (130, 100)
    ankle, knee = layout.index("left_ankle"), layout.index("left_knee")
    mid = ((poses.keypoints[0, ankle, :2] + poses.keypoints[0, knee, :2]) / 2).round().astype(int)
    np.testing.assert_allclose(out[mid[1], mid[0]].astype(int), color, atol=40)
    # the box is drawn in the track's colour
    np.testing.assert_allclose(out[100, 20].astype(int), color, atol=40)


def test_lowering_the_threshold_reveals_the_joint():
    poses = _spread_pose(COCO17, 1, score_low_joint=9, threshold=0.5)
    image = np.zeros((200, 240, 3), np.uint8)
    x, y = poses.keypoints[0, 9, :2].astype(int)
    assert not draw_poses(image, poses, 0.5)[y, x].any()
    assert draw_poses(image, poses, 0.4)[y, x].any()


def test_each_person_gets_its_own_colour_and_untracked_is_grey():
    image = np.zeros((200, 400, 3), np.uint8)
    a = _spread_pose(COCO17, 2)
    b = _spread_pose(COCO17, -1)
    b.keypoints[..., 0] += 200
    b.boxes[:, [0, 2]] += 200
    both = Poses(
        np.concatenate([a.keypoints, b.keypoints]),
        np.concatenate([a.boxes, b.boxes]),
        [0.9, 0.9],
        COCO17,
        [2, -1],
    )
    out = draw_poses(image, both, 0.5)
    np.testing.assert_allclose(out[100, 20].astype(int), track_colors([2])[0], atol=40)
    np.testing.assert_allclose(out[100, 220].astype(int), UNTRACKED_COLOR, atol=40)
    # the tracked person has an id tag at the box's top-left; the untracked one has none
    assert out[5:17, 20:40].any() and not out[5:17, 220:240].any()


def test_empty_poses_and_inplace():
    image = np.full((50, 60, 3), 7, np.uint8)
    assert np.array_equal(draw_poses(image, Poses.empty(COCO17), 0.3), image)
    poses = _spread_pose(COCO17, 0)
    big = np.zeros((200, 240, 3), np.uint8)
    assert draw_poses(big, poses, 0.3, inplace=True) is big and big.any()
