"""Targets: the vectorised generators against loop transcriptions of the official ones, and planted
joints (centre, border, outside, invisible)."""

import numpy as np
import pytest

from posetrack.train.targets import bottomup_heatmaps, bottomup_joints, topdown_target


def loop_topdown(joints, image_size, heatmap_size, sigma):
    """The official generate_target, joint by joint (reference)."""
    k = len(joints)
    weight = np.ones((k, 1), np.float32)
    weight[:, 0] = joints[:, 2]
    target = np.zeros((k, heatmap_size[1], heatmap_size[0]), np.float32)
    tmp = sigma * 3
    stride = np.array(image_size) / np.array(heatmap_size)
    for j in range(k):
        mx = int(joints[j][0] / stride[0] + 0.5)
        my = int(joints[j][1] / stride[1] + 0.5)
        ul = [int(mx - tmp), int(my - tmp)]
        br = [int(mx + tmp + 1), int(my + tmp + 1)]
        if ul[0] >= heatmap_size[0] or ul[1] >= heatmap_size[1] or br[0] < 0 or br[1] < 0:
            weight[j] = 0
            continue
        size = 2 * tmp + 1
        x = np.arange(0, size, 1, np.float32)
        y = x[:, None]
        x0 = y0 = size // 2
        g = np.exp(-((x - x0) ** 2 + (y - y0) ** 2) / (2 * sigma**2))
        gx = max(0, -ul[0]), min(br[0], heatmap_size[0]) - ul[0]
        gy = max(0, -ul[1]), min(br[1], heatmap_size[1]) - ul[1]
        ix = max(0, ul[0]), min(br[0], heatmap_size[0])
        iy = max(0, ul[1]), min(br[1], heatmap_size[1])
        if weight[j] > 0.5:
            target[j][iy[0]:iy[1], ix[0]:ix[1]] = g[gy[0]:gy[1], gx[0]:gx[1]]
    return target, weight[:, 0]


def loop_bottomup(people, res, sigma):
    size = 6 * sigma + 3
    x = np.arange(0, size, 1, float)
    y = x[:, None]
    g = np.exp(-((x - 3 * sigma - 1) ** 2 + (y - 3 * sigma - 1) ** 2) / (2 * sigma**2))
    hms = np.zeros((people.shape[1], res, res), np.float32)
    for p in people:
        for idx, pt in enumerate(p):
            if pt[2] > 0:
                xi, yi = int(pt[0]), int(pt[1])
                if xi < 0 or yi < 0 or xi >= res or yi >= res:
                    continue
                ul = int(np.round(xi - 3 * sigma - 1)), int(np.round(yi - 3 * sigma - 1))
                br = int(np.round(xi + 3 * sigma + 2)), int(np.round(yi + 3 * sigma + 2))
                c, d = max(0, -ul[0]), min(br[0], res) - ul[0]
                a, b = max(0, -ul[1]), min(br[1], res) - ul[1]
                cc, dd = max(0, ul[0]), min(br[0], res)
                aa, bb = max(0, ul[1]), min(br[1], res)
                hms[idx, aa:bb, cc:dd] = np.maximum(hms[idx, aa:bb, cc:dd], g[a:b, c:d])
    return hms


def loop_joints(people, res, max_people, per_joint):
    out = np.zeros((max_people, people.shape[1], 2))
    for i in range(len(people)):
        tot = 0
        for idx, pt in enumerate(people[i]):
            x, y = int(pt[0]), int(pt[1])
            if pt[2] > 0 and x >= 0 and y >= 0 and x < res and y < res:
                out[i][tot] = (idx * res**2 + y * res + x, 1) if per_joint else (y * res + x, 1)
                tot += 1
    return out


@pytest.mark.parametrize("sigma", [2, 3, 1.5])
def test_topdown_matches_official_loops(sigma):
    rng = np.random.default_rng(0)
    joints = np.zeros((40, 3))
    joints[:, 0] = rng.uniform(-40, 230, 40)  # crop 192 wide: many near/over the border
    joints[:, 1] = rng.uniform(-40, 300, 40)
    joints[:, 2] = rng.integers(0, 2, 40)
    joints[:4] = [[-1.9, 10, 1], [0.0, 0.0, 1], [191.0, 255.0, 1], [-27.0, 100, 1]]
    if sigma == 1.5:  # the official slicing breaks for some negative windows; keep to where it works
        joints[:, :2] = np.clip(joints[:, :2], 20, 170)
    t, w = topdown_target(joints, (192, 256), (48, 64), sigma)
    rt, rw = loop_topdown(joints, (192, 256), (48, 64), sigma)
    assert t.dtype == np.float32 and w.dtype == np.float32 and t.shape == (40, 64, 48)
    np.testing.assert_array_equal(t, rt)
    np.testing.assert_array_equal(w, rw)


def test_topdown_planted_joints():
    joints = np.array([
        [96.0, 128.0, 1],  # centre: heatmap (24, 32)
        [1.0, 1.0, 1],  # top-left border: clipped gaussian, peak at (0, 0)
        [-40.0, 50.0, 1],  # far outside: weight 0, empty map
        [96.0, 128.0, 0],  # invisible: weight 0, empty map
        [-20.0, 50.0, 1],  # outside the crop but its window reaches in: weight 1, tail drawn
    ])
    jw = np.arange(1, 6, dtype=np.float32)
    t, w = topdown_target(joints, (192, 256), (48, 64), 2, joints_weight=jw)
    assert t[0, 32, 24] == 1.0 and t[0].max() == 1.0 and np.argmax(t[0]) == 32 * 48 + 24
    assert abs(t[0, 32, 25] - np.exp(-1 / 8)) < 1e-7 and t[0, 32, 31] == 0  # 3 sigma window
    assert t[1, 0, 0] == 1.0 and t[1].sum() > 0
    assert not t[2].any() and not t[3].any()
    assert t[4].any() and t[4, :, 0].max() < 1.0  # only the tail
    np.testing.assert_allclose(w, [1, 2, 0, 0, 5])
    # official edge: the window [-13, 0) is empty but "not outside" (br == 0): weight kept, map empty
    t, w = topdown_target(np.array([[-30.0, 50.0, 1]]), (192, 256), (48, 64), 2)
    assert w[0] == 1 and not t.any()


def test_bottomup_heatmaps_and_joints_match_official():
    rng = np.random.default_rng(1)
    people = np.zeros((7, 17, 3))
    people[..., 0] = rng.uniform(-5, 133, (7, 17))
    people[..., 1] = rng.uniform(-5, 133, (7, 17))
    people[..., 2] = rng.integers(0, 3, (7, 17))
    people[0, 0] = (-0.5, 3.0, 2)  # int(-0.5) == 0: counts as inside, as the official
    people[1, 1] = people[2, 1] = (64.2, 64.7, 1)  # two people on one spot: max, not sum
    for sigma in (2, 1):
        np.testing.assert_array_equal(bottomup_heatmaps(people, 128, sigma), loop_bottomup(people, 128, sigma))
    for per_joint in (True, False):
        got = bottomup_joints(people, 128, 30, per_joint)
        assert got.shape == (30, 17, 2)
        np.testing.assert_array_equal(got, loop_joints(people, 128, 30, per_joint))
    hm = bottomup_heatmaps(people, 128, 2)
    assert hm[1, 64, 64] == 1.0 and hm[0, 3, 0] == 1.0


def test_bottomup_empty_and_too_many_people():
    assert not bottomup_heatmaps(np.zeros((0, 17, 3)), 64, 2).any()
    many = np.ones((40, 17, 3)) * 10
    assert bottomup_joints(many, 64, 30, True).shape == (30, 17, 2)
