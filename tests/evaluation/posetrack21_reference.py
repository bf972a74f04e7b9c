"""A literal, slow re-statement of the official PoseTrack21 kit's pose-tracking evaluation.

Written from anDoer/PoseTrack21 ``eval/posetrack21`` (its ``PoseTrack`` dataset class, its
``HOTAeypoints`` and ``PosemAP`` metrics, TrackEval's pooling), step by step with the same loops
over frames, people and joints on the parsed JSON, so that posetrack's vectorised evaluator can be
checked against it on generated cases. Only what the kit does on valid input is re-stated (where
the kit crashes, so does this). shapely is not installed here: ``Polygon.contains`` is re-stated as
an even-odd test that excludes the boundary (the same answer for simple polygons).
"""

from __future__ import annotations

import json
import os

import numpy as np
from scipy.optimize import linear_sum_assignment

N_RAW = 17
N_J = 15
ALPHAS = np.arange(0.05, 0.99, 0.05)


# ----------------------------------------------------------------------------------------------
# dataset


def _contains(poly: list[tuple[float, float]], x: float, y: float) -> bool:
    n = len(poly)
    if n < 3:
        return False
    inside = False
    for i in range(n):
        ax, ay = poly[i]
        bx, by = poly[(i + 1) % n]
        cross = (bx - ax) * (y - ay) - (by - ay) * (x - ax)
        if cross == 0 and min(ax, bx) <= x <= max(ax, bx) and min(ay, by) <= y <= max(ay, by):
            return False  # on the boundary: not contained
        if (ay > y) != (by > y):
            xc = ax + (y - ay) * (bx - ax) / (by - ay)
            if x < xc:
                inside = not inside
    return inside


def _load(path: str, n_timesteps: int, is_gt: bool) -> dict:
    with open(path) as f:
        read_data = json.load(f)
    image_data = {img["id"]: {**img, "annotations": []} for img in read_data["images"]}
    image_ids = list(image_data.keys())
    for ann in read_data["annotations"]:
        image_data[ann["image_id"]]["annotations"].append(ann)
    raw = {k: [None] * n_timesteps for k in ("ids", "dets", "image_ids", "head_sizes", "ignore", "is_labeled")}
    for t in range(n_timesteps):
        im_id = image_ids[t]
        fd = image_data[im_id]
        raw["image_ids"][t] = im_id
        if is_gt:
            raw["ignore"][t] = (fd.get("ignore_regions_x", []), fd.get("ignore_regions_y", []))
            raw["is_labeled"][t] = fd["is_labeled"]
        ids, kps, scores, heads = [], [], [], []
        for p in fd["annotations"]:
            ids.append(p["track_id"])
            kps.append(p["keypoints"])
            scores.append(p["scores"] if "scores" in p else [-9999] * N_RAW)
            if is_gt:
                x1, y1, w, h = p["bbox_head"]
                x2, y2 = x1 + w, y1 + h
                heads.append(0.6 * np.linalg.norm(np.subtract([x2, y2], [x1, y1])))
        kps = np.delete(np.array(kps).reshape([-1, N_RAW, 3]), [3, 4], axis=1)
        scores = np.delete(np.array(scores).reshape([-1, N_RAW]), [3, 4], axis=1)
        if not is_gt:
            kps[:, :, 2] = scores
        if fd["annotations"]:
            raw["dets"][t] = kps
            raw["ids"][t] = np.array(ids)
            raw["head_sizes"][t] = heads
        else:
            raw["dets"][t] = np.empty((0, N_J, 3))
            raw["ids"][t] = np.empty(0).astype(int)
    return raw


def _remove_ignored(dets, polys):
    rm = np.zeros([dets.shape[0], dets.shape[1]], dtype=bool)
    for pidx in range(len(dets)):
        for j in range(len(dets[pidx])):
            for poly in polys:
                if _contains(poly, dets[pidx, j, 0], dets[pidx, j, 1]):
                    rm[pidx, j] = True
                    break
    return rm


def _filter(dets, ids, heads, rm):
    out_d, out_i, out_h = [], [], []
    for pidx in range(len(rm)):
        if np.sum(rm[pidx]) == rm[pidx].shape[0]:
            continue
        det = dets[pidx]
        for j in range(len(rm[pidx])):
            if rm[pidx][j]:
                det[j] = [0, 0, 0]
        invalid = (det[:, 0] <= 0) & (det[:, 1] <= 0)
        if np.sum(invalid) == det.shape[0]:
            continue
        out_d.append(det)
        out_i.append(ids[pidx])
        if heads is not None:
            out_h.append(heads[pidx])
    return np.array(out_d).reshape([-1, N_J, 3]), np.array(out_i), np.array(out_h)


def _pckh(gt, pr, heads):
    dist = np.full((len(gt), len(pr), N_J), np.inf)
    has_gt = (gt[:, :, 0] > 0) & (gt[:, :, 1] > 0)
    has_pr = (pr[:, :, 0] > 0) & (pr[:, :, 1] > 0)
    for g in range(len(gt)):
        for p in range(len(pr)):
            for j in range(N_J):
                if has_gt[g, j] and has_pr[p, j]:
                    dist[g, p, j] = np.linalg.norm(np.subtract(gt[g, j, :2], pr[p, j, :2])) / heads[g]
    n_gtp = np.sum(has_gt, axis=1)
    match = dist <= 0.5
    pck = 1.0 * np.sum(match, axis=2)
    for g in range(has_gt.shape[0]):
        for p in range(has_pr.shape[0]):
            if n_gtp[g] > 0:
                pck[g, p] = pck[g, p] / n_gtp[g]
    return pck, dist, match


def load_sequence(gt_path: str, pr_path: str) -> dict:
    with open(gt_path) as f:
        n_t = len(json.load(f)["images"])
    g = _load(gt_path, n_t, True)
    p = _load(pr_path, n_t, False)
    lab = g["is_labeled"]
    data = {"gt_ids": [], "tr_ids": [], "gt_dets": [], "tr_dets": [], "pck": [], "dist": [], "match": []}
    for t in range(n_t):
        if not lab[t]:
            continue
        assert g["image_ids"][t] == p["image_ids"][t]
        gd, gi, gh = g["dets"][t], g["ids"][t], g["head_sizes"][t]
        pd, pi = p["dets"][t], p["ids"][t]
        rx, ry = g["ignore"][t]
        if len(rx) != 0:
            polys = [list(zip(rx[r], ry[r])) for r in range(len(rx))]
            pd, pi, _ = _filter(pd, pi, None, _remove_ignored(pd, polys))
            gd, gi, gh = _filter(gd, gi, gh, _remove_ignored(gd, polys))
        assert len(gd) == len(gh)
        pck, dist, match = _pckh(gd, pd, gh)
        for key, v in (("gt_ids", gi), ("tr_ids", pi), ("gt_dets", gd), ("tr_dets", pd), ("pck", pck),
                       ("dist", dist), ("match", match)):  # fmt: skip
            data[key].append(v)
    # relabel ids to 0..n-1 (sorted), count joints
    for side, dkey in (("gt_ids", "gt_dets"), ("tr_ids", "tr_dets")):
        uniq = sorted({int(i) for ids in data[side] for i in ids})
        m = {u: k for k, u in enumerate(uniq)}
        data[side] = [np.array([m[int(i)] for i in ids], int) for ids in data[side]]
        data["num_" + side] = len(uniq)
        cnt = np.zeros(N_J, int)
        for d in data[dkey]:
            if len(d):
                cnt += np.sum((d[:, :, 0] > 0) & (d[:, :, 1] > 0), axis=0)
        data["joints_" + side] = cnt
        data["dets_" + side] = sum(len(ids) for ids in data[side])
    return data


# ----------------------------------------------------------------------------------------------
# HOTAeypoints


def _final(res: dict, avg: bool) -> dict:
    res["DetRe"] = res["HOTA_TP"] / np.maximum(1, res["HOTA_TP"] + res["HOTA_FN"])
    res["DetPr"] = res["HOTA_TP"] / np.maximum(1, res["HOTA_TP"] + res["HOTA_FP"])
    res["DetA"] = res["HOTA_TP"] / np.maximum(1, res["HOTA_TP"] + res["HOTA_FN"] + res["HOTA_FP"])
    res["HOTA"] = np.sqrt(res["DetA"] * res["AssA"])
    res["RHOTA"] = np.sqrt(res["DetRe"] * res["AssA"])
    res["FA-HOTA"] = np.sqrt(res["DetA"] * np.sqrt(res["AssA"] * res["FragA"]))
    res["FA-RHOTA"] = np.sqrt(res["DetRe"] * np.sqrt(res["AssA"] * res["FragA"]))
    res["HOTA(0)"] = res["HOTA"][0]
    res["LocA(0)"] = res["LocA"][0]
    res["HOTALocA(0)"] = res["HOTA(0)"] * res["LocA(0)"]
    if avg:
        for k in list(res):
            v = res[k]
            if k in ("HOTA_TP", "HOTA_FN", "HOTA_FP"):
                res[k] = np.append(v, np.sum(v, axis=1, keepdims=True), axis=1)
            elif v.ndim == 2:
                res[k] = np.append(v, np.mean(v, axis=1, keepdims=True), axis=1)
            else:
                res[k] = np.append(v, np.mean(v, keepdims=True), axis=0)
    return res


def hota_sequence(data: dict) -> dict:
    na = len(ALPHAS)
    res = {k: np.zeros((na, N_J)) for k in ("HOTA_TP", "HOTA_FN", "HOTA_FP", "LocA", "AssA", "AssRe", "AssPr",
                                            "FragA")}  # fmt: skip
    n_g, n_p, T = data["num_gt_ids"], data["num_tr_ids"], len(data["gt_ids"])
    if data["dets_tr_ids"] == 0:
        res["HOTA_FN"] = data["joints_gt_ids"][None, :] * np.ones((na, N_J))
        res["LocA"] = np.ones((na, N_J))
        return res  # the kit returns here, before the derived fields
    if data["dets_gt_ids"] == 0:
        res["HOTA_FP"] = data["joints_tr_ids"][None, :] * np.ones((na, N_J))
        res["LocA"] = np.ones((na, N_J))
        return res
    gt_count = np.zeros((n_g, 1, N_J))
    tr_count = np.zeros((1, n_p, N_J))
    last = np.ones((na, n_g, N_J), int) * -1
    frag_count = np.zeros((na, n_g, n_p, N_J), int)
    fragments = np.zeros((na, n_g, n_p, N_J, T), int)
    sims = []
    for t in range(T):
        sims.append(np.maximum((-1 / 0.5001) * data["dist"][t] + 1, 0))
        gd, pd = data["gt_dets"][t], data["tr_dets"][t]
        gt_count[data["gt_ids"][t], 0] += (gd[:, :, 0] > 0) & (gd[:, :, 1] > 0)
        if len(data["tr_ids"][t]) > 0:
            tr_count[0, data["tr_ids"][t]] += (pd[:, :, 0] > 0) & (pd[:, :, 1] > 0)
    matches = [np.zeros((n_g, n_p, N_J)) for _ in ALPHAS]
    for t in range(T):
        gi, pi = data["gt_ids"][t], data["tr_ids"][t]
        gd, pd = data["gt_dets"][t], data["tr_dets"][t]
        ng_t = np.sum((gd[:, :, 0] > 0) & (gd[:, :, 1] > 0), axis=0)
        np_t = np.sum((pd[:, :, 0] > 0) & (pd[:, :, 1] > 0), axis=0)
        if len(gi) == 0:
            for a in range(na):
                res["HOTA_FP"][a] += data["joints_tr_ids"]
            continue
        if len(pi) == 0:
            for a in range(na):
                res["HOTA_FN"][a] += data["joints_gt_ids"]
            continue
        sim = sims[t]
        for j in range(N_J):
            rows, cols = linear_sum_assignment(-sim[:, :, j])
            for a, alpha in enumerate(ALPHAS):
                ok = sim[rows, cols, j] >= alpha - np.finfo("float").eps
                r, c = rows[ok], cols[ok]
                n = len(r)
                res["HOTA_TP"][a][j] += n
                res["HOTA_FN"][a][j] += ng_t[j] - n
                res["HOTA_FP"][a][j] += np_t[j] - n
                if n > 0:
                    res["LocA"][a][j] += sum(sim[r, c, j])
                    matches[a][gi[r], pi[c], j] += 1
                mg, mp = gi[r], pi[c]
                new = last[a, mg, j] != mp
                last[a, mg[new], j] = mp[new]
                frag_count[a, mg[new], mp[new], j] += 1
                idx = np.maximum(0, frag_count[a, mg, mp, j] - 1)
                fragments[a, mg, mp, j, idx] += 1
    for a in range(na):
        m = matches[a]
        tpa = np.maximum(1, gt_count + tr_count - m)
        den = np.maximum(1, res["HOTA_TP"][a])
        res["AssA"][a] = np.sum(np.sum(m * (m / tpa), 0), 0) / den
        res["AssRe"][a] = np.sum(np.sum(m * (m / np.maximum(1, gt_count)), 0), 0) / den
        res["AssPr"][a] = np.sum(np.sum(m * (m / np.maximum(1, tr_count)), 0), 0) / den
        f = fragments[a]
        res["FragA"][a] = np.sum(np.sum(np.sum(f * (f / tpa[:, :, :, None]), -1), 0), 0) / den
    res["LocA"] = np.maximum(1e-10, res["LocA"]) / np.maximum(1e-10, res["HOTA_TP"])
    return _final(res, True)


def hota_combine(all_res: list[dict]) -> dict:
    res = {k: sum(r[k] for r in all_res) for k in ("HOTA_TP", "HOTA_FN", "HOTA_FP")}
    for k in ("AssRe", "AssPr", "AssA", "FragA"):
        res[k] = sum(r[k] * r["HOTA_TP"] for r in all_res) / np.maximum(1.0, res["HOTA_TP"])
    res["LocA"] = np.maximum(1e-10, sum(r["LocA"] * r["HOTA_TP"] for r in all_res)) / np.maximum(1e-10, res["HOTA_TP"])
    return _final(res, False)


# ----------------------------------------------------------------------------------------------
# PosemAP


def map_sequence(data: dict):
    T = len(data["gt_ids"])
    scores = {j: {t: np.zeros([0, 0], np.float32) for t in range(T)} for j in range(N_J)}
    labels = {j: {t: np.zeros([0, 0], np.int8) for t in range(T)} for j in range(N_J)}
    ctr = np.zeros((N_J, T))
    for t in range(T):
        pr = data["tr_dets"][t]
        has_pr = (pr[:, :, 0] > 0) & (pr[:, :, 1] > 0)
        ps = pr[:, :, 2]
        match = data["match"][t]
        gd = data["gt_dets"][t]
        has_gt = (gd[:, :, 0] > 0) & (gd[:, :, 1] > 0)
        for n in range(has_gt.shape[0]):
            for j in range(N_J):
                ctr[j, t] += int(has_gt[n, j])
        if len(data["gt_ids"][t]) > 0 and len(data["tr_ids"][t]) > 0:
            pck = data["pck"][t].T.copy()
            idx = np.argmax(pck, axis=1)
            for d in range(pck.shape[0]):
                for g in range(pck.shape[1]):
                    if g != idx[d]:
                        pck[d, g] = 0
            pr_to_gt = np.argmax(pck, axis=0)
            pr_to_gt[np.max(pck, axis=0) == 0] = -1
            for p in range(has_pr.shape[0]):
                if p in pr_to_gt:
                    g = np.argwhere(pr_to_gt == p)[0, 0]
                    km = match[g, p]
                else:
                    km = np.zeros(N_J, bool)
                for j in range(N_J):
                    if has_pr[p, j]:
                        scores[j][t] = np.append(scores[j][t], ps[p, j])
                        labels[j][t] = np.append(labels[j][t], km[j])
    return scores, labels, ctr


def _vocap(rec, prec):
    mpre = np.zeros([1, 2 + len(prec)])
    mpre[0, 1: len(prec) + 1] = prec
    mrec = np.zeros([1, 2 + len(rec)])
    mrec[0, 1: len(rec) + 1] = rec
    mrec[0, len(rec) + 1] = 1.0
    for i in range(mpre.size - 2, -1, -1):
        mpre[0, i] = max(mpre[0, i], mpre[0, i + 1])
    i = np.argwhere(~np.equal(mrec[0, 1:], mrec[0, : mrec.shape[1] - 1])) + 1
    i = i.flatten()
    return np.sum(np.multiply(np.subtract(mrec[0, i], mrec[0, i - 1]), mpre[0, i]))


def map_metrics(scores, labels, ctr):
    out = np.zeros((3, N_J + 1))
    for j in range(N_J):
        s = np.zeros([0, 0], np.float32)
        lab = np.zeros([0, 0], np.int8)
        for t in range(ctr.shape[1]):
            s = np.append(s, scores[j][t])
            lab = np.append(lab, labels[j][t])
        total = sum(ctr[j, :])
        order = np.array(s).argsort()[::-1]
        ls = lab[order]
        prec, rec = np.zeros(len(s)), np.zeros(len(s))
        npos = 0
        for k in range(len(order)):
            if ls[k] == 1:
                npos += 1
            rec[k] = npos / max(total, 1)
            prec[k] = npos / (k + 1)
        if len(prec) > 0:
            out[0, j] = _vocap(rec, prec) * 100
            out[1, j] = prec[-1] * 100
            out[2, j] = rec[-1] * 100
    for r in range(3):
        v = out[r, :N_J]
        out[r, N_J] = v[np.argwhere(~np.isnan(v))].mean()
    return out  # rows: ap, precision, recall


def map_combine(per_seq: list):
    cs = {j: {} for j in range(N_J)}
    cl = {j: {} for j in range(N_J)}
    ctrs, total = [], 0
    for scores, labels, ctr in per_seq:
        for j in range(N_J):
            for t in scores[j]:
                cs[j][t + total] = scores[j][t]
                cl[j][t + total] = labels[j][t]
        total += ctr.shape[1]
        ctrs.append(ctr)
    return map_metrics(cs, cl, np.concatenate(ctrs, axis=1))


def evaluate(gt_dir: str, pr_dir: str) -> tuple[dict, np.ndarray, dict]:
    """(combined HOTA, combined mAP rows (ap, precision, recall) x 16, per-sequence HOTA)."""
    per_hota, per_map = {}, []
    for name in sorted(os.listdir(gt_dir)):
        data = load_sequence(os.path.join(gt_dir, name), os.path.join(pr_dir, name))
        per_hota[name] = hota_sequence(data)
        per_map.append(map_sequence(data))
    return hota_combine(list(per_hota.values())), map_combine(per_map), per_hota
