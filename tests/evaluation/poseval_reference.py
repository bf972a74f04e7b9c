"""A slow, literal re-statement of the official PoseTrack evaluation procedure, for cross-checks.

Test and benchmark helper only, never used by the product. It works on the raw JSON dictionaries
with per-person, per-joint Python loops and counts MOT events with motmetrics' own
``MOTAccumulator`` (as the official toolkit does), so it shares no code with
``posetrack.evaluation``. Written from the documented behaviour (docs/evaluation.md); the
official toolkit itself is not installable here (it is not on the package index).
"""

from __future__ import annotations

import glob
import json
import os

import numpy as np

NJ = 15
NAMES = ("right_ankle", "right_knee", "right_hip", "left_hip", "left_knee", "left_ankle",
         "right_wrist", "right_elbow", "right_shoulder", "left_shoulder", "left_elbow", "left_wrist",
         "head_bottom", "nose", "head_top")  # fmt: skip


def _to_annolist(data: dict) -> list[dict]:
    """2018 -> annolist frames (first video of the file only)."""
    names = data["categories"][0]["keypoints"]
    table = [NAMES.index(n) if n in NAMES else None for n in names]
    frames, video = [], None
    for img in data["images"]:
        vid = os.path.basename(os.path.dirname(img["file_name"])).split("_")[0]
        if video is None:
            video = vid
        if vid != video:
            continue
        fr = {"image": [{"name": img["file_name"]}], "annorect": []}
        if "ignore_regions_x" in img and "ignore_regions_y" in img and img["ignore_regions_x"]:
            fr["ignore_regions"] = [
                {"point": [{"x": [x], "y": [y]} for x, y in zip(xs, ys)]}
                for xs, ys in zip(img["ignore_regions_x"], img["ignore_regions_y"])
            ]
        for ann in data["annotations"]:
            if ann["image_id"] != img["id"]:
                continue
            kp = np.array(ann["keypoints"]).reshape(len(table), 3)
            scores = ann.get("scores")
            points = []
            for k, idx in enumerate(table):
                if idx is None:
                    continue
                if kp[k, 0] == 0 and kp[k, 1] == 0 and kp[k, 2] == 0:
                    continue
                pt = {"id": [idx], "x": [kp[k, 0]], "y": [kp[k, 1]]}
                if scores:
                    pt["score"] = [scores[k]]
                points.append(pt)
            rect = {"track_id": [ann["track_id"]], "annopoints": [{"point": points}]}
            if "bbox_head" in ann:
                x, y, w, h = ann["bbox_head"]
                rect.update(x1=[x], y1=[y], x2=[x + w], y2=[y + h])
            fr["annorect"].append(rect)
        frames.append(fr)
    return frames


def _load(path: str) -> list[dict]:
    with open(path) as f:
        data = json.load(f)
    return data["annolist"] if "annolist" in data else _to_annolist(data)


def _has_points(rect: dict) -> bool:
    ap = rect.get("annopoints")
    return bool(ap) and len(ap) > 0 and len(ap[0]) > 0 and "point" in ap[0]


def _inside(px: float, py: float, poly: list[tuple[float, float]]) -> bool:
    n = len(poly)
    if n < 3:
        return False
    inside = False
    for k in range(n):
        ax, ay = poly[k]
        bx, by = poly[(k + 1) % n]
        # on the boundary -> not contained
        if (bx - ax) * (py - ay) - (by - ay) * (px - ax) == 0 and min(ax, bx) <= px <= max(ax, bx) \
                and min(ay, by) <= py <= max(ay, by):
            return False
        if (ay > py) != (by > py) and px < ax + (py - ay) * (bx - ax) / (by - ay):
            inside = not inside
    return inside


def _filter_rects(rects: list[dict], polys: list) -> list[dict]:
    out = []
    for r in rects:
        pts = [p for p in r["annopoints"][0]["point"]
               if not any(_inside(p["x"][0], p["y"][0], poly) for poly in polys)]
        if pts:
            r["annopoints"][0]["point"] = pts
            out.append(r)
    return out


def load(gt_dir: str, pred_dir: str, files: list[str] | None = None):
    files = files if files is not None else glob.glob(os.path.join(gt_dir, "*.json"))
    gt_all, pr_all = [], []
    for i, f in enumerate(files):
        gt = _load(f)
        pr = _load(os.path.join(pred_dir, os.path.basename(f)))
        assert len(gt) == len(pr)
        for fr in gt:
            fr["seq_id"] = i
        gt_all += gt
        pr_all += pr
    keep = [k for k, fr in enumerate(gt_all) if len(fr["annorect"]) > 0]
    gt_all = [gt_all[k] for k in keep]
    pr_all = [pr_all[k] for k in keep]
    for g, p in zip(gt_all, pr_all):
        g["annorect"] = [r for r in g["annorect"] if _has_points(r)]
        p["annorect"] = [r for r in p["annorect"] if _has_points(r)]
        if g.get("ignore_regions"):
            polys = [[(pt["x"][0], pt["y"][0]) for pt in reg["point"]] for reg in g["ignore_regions"]]
            p["annorect"] = _filter_rects(p["annorect"], polys)
            g["annorect"] = _filter_rects(g["annorect"], polys)
    return gt_all, pr_all


def _point(points, j):
    for p in points:
        if p["id"] is not None and p["id"][0] == j:
            return p
    return None


def assign(gt_frames, pr_frames, thresh=0.5):
    n = len(gt_frames)
    scores = {j: {i: np.zeros([0, 0], np.float32) for i in range(n)} for j in range(NJ)}
    labels = {j: {i: np.zeros([0, 0], np.int8) for i in range(n)} for j in range(NJ)}
    n_gt = np.zeros([NJ, n])
    mot_all = {}
    for i in range(n):
        gts, prs = gt_frames[i]["annorect"], pr_frames[i]["annorect"]
        dist = np.full((len(prs), len(gts), NJ), np.inf)
        score = np.full((len(prs), NJ), np.nan)
        has_pr = np.zeros((len(prs), NJ), bool)
        has_gt = np.zeros((len(gts), NJ), bool)
        tid_gt = [r["track_id"][0] for r in gts]
        tid_pr = [r["track_id"][0] for r in prs]
        for g, r in enumerate(gts):
            for j in range(NJ):
                has_gt[g, j] = _point(r["annopoints"][0]["point"], j) is not None
        for p, r in enumerate(prs):
            for j in range(NJ):
                pt = _point(r["annopoints"][0]["point"], j)
                if pt is not None:
                    score[p, j] = pt["score"][0] if "score" in pt else -9999
                    has_pr[p, j] = True
        if len(prs) and len(gts):
            for g, rg in enumerate(gts):
                hs = 0.6 * np.linalg.norm(np.subtract([rg["x2"][0], rg["y2"][0]], [rg["x1"][0], rg["y1"][0]]))
                for p, rp in enumerate(prs):
                    for j in range(NJ):
                        if has_pr[p, j] and has_gt[g, j]:
                            a = _point(rg["annopoints"][0]["point"], j)
                            b = _point(rp["annopoints"][0]["point"], j)
                            with np.errstate(divide="ignore", invalid="ignore"):
                                dist[p, g, j] = np.linalg.norm(
                                    np.subtract([a["x"][0], a["y"][0]], [b["x"][0], b["y"][0]])) / hs
            n_gtp = np.sum(has_gt, axis=1)
            match = dist <= thresh
            pck = 1.0 * np.sum(match, axis=2)
            for p in range(len(prs)):
                for g in range(len(gts)):
                    if n_gtp[g] > 0:
                        pck[p, g] = pck[p, g] / n_gtp[g]
            idx = np.argmax(pck, axis=1)
            for p in range(pck.shape[0]):
                for g in range(pck.shape[1]):
                    if g != idx[p]:
                        pck[p, g] = 0
            pr_to_gt = np.argmax(pck, axis=0)
            pr_to_gt[np.max(pck, axis=0) == 0] = -1
            mot = {}
            for j in range(NJ):
                gi = np.argwhere(has_gt[:, j]).flatten().tolist()
                pi = np.argwhere(has_pr[:, j]).flatten().tolist()
                d = np.full((len(gi), len(pi)), np.nan)
                for a, pp in enumerate(pi):
                    for b, gg in enumerate(gi):
                        if match[pp, gg, j]:
                            d[b, a] = dist[pp, gg, j]
                mot[j] = {"gt": [tid_gt[k] for k in gi], "pr": [tid_pr[k] for k in pi], "dist": d}
            for p in range(len(prs)):
                if p in pr_to_gt:
                    g = np.argwhere(pr_to_gt == p)[0, 0]
                    m = match[p, g, :]
                else:
                    m = np.zeros(NJ, bool)
                for j in range(NJ):
                    if has_pr[p, j]:
                        scores[j][i] = np.append(scores[j][i], score[p, j])
                        labels[j][i] = np.append(labels[j][i], m[j])
        else:
            if not len(gts):
                for p in range(len(prs)):
                    for j in range(NJ):
                        if has_pr[p, j]:
                            scores[j][i] = np.append(scores[j][i], score[p, j])
                            labels[j][i] = np.append(labels[j][i], False)
            mot = {j: {"gt": [0], "pr": [0], "dist": np.full((1, 1), np.nan)} for j in range(NJ)}
        for g in range(len(gts)):
            for j in range(NJ):
                n_gt[j, i] += has_gt[g, j]
        mot_all[i] = mot
    return scores, labels, n_gt, mot_all


def ap_metrics(scores, labels, n_gt):
    ap, pre, rec = np.zeros(NJ + 1), np.zeros(NJ + 1), np.zeros(NJ + 1)
    for j in range(NJ):
        s = np.zeros([0, 0], np.float32)
        lab = np.zeros([0, 0], np.int8)
        for i in range(n_gt.shape[1]):
            s = np.append(s, scores[j][i])
            lab = np.append(lab, labels[j][i])
        total = sum(n_gt[j, :])
        order = np.array(s).argsort()[::-1]
        ls = lab[order]
        prec, recall = np.zeros(len(s)), np.zeros(len(s))
        npos = 0
        for k in range(len(order)):
            if ls[k] == 1:
                npos += 1
            with np.errstate(divide="ignore", invalid="ignore"):
                recall[k] = 1.0 * npos / total
            prec[k] = 1.0 * npos / (k + 1)
        if len(prec):
            mpre = np.zeros(len(prec) + 2)
            mpre[1:-1] = prec
            mrec = np.zeros(len(recall) + 2)
            mrec[1:-1] = recall
            mrec[-1] = 1.0
            for k in range(len(mpre) - 2, -1, -1):
                mpre[k] = max(mpre[k], mpre[k + 1])
            idx = np.argwhere(~np.equal(mrec[1:], mrec[:-1])).flatten() + 1
            ap[j] = np.sum((mrec[idx] - mrec[idx - 1]) * mpre[idx]) * 100
            pre[j] = prec[-1] * 100
            rec[j] = recall[-1] * 100
    for a in (ap, pre, rec):
        a[NJ] = a[:NJ][~np.isnan(a[:NJ])].mean()
    return ap, pre, rec


def mot_metrics(gt_frames, mot_all):
    import motmetrics as mm

    mh = mm.metrics.create()
    names = ["num_misses", "num_switches", "num_false_positives", "num_objects", "num_detections"]
    tot = {k: np.zeros(NJ) for k in names + ["sumD"]}
    seq = np.array([f["seq_id"] for f in gt_frames])
    for s in np.unique(seq):
        idxs = np.argwhere(seq == s)[:-1, 0]
        accs = [mm.MOTAccumulator(auto_id=True) for _ in range(NJ)]
        for i in idxs:
            for j in range(NJ):
                m = mot_all[i][j]
                accs[j].update(m["gt"], m["pr"], m["dist"])
        for j in range(NJ):
            r = mh.compute(accs[j], metrics=names, return_dataframe=False, name="acc")
            for k in names:
                tot[k][j] += r[k]
            d = accs[j].events["D"].sum()
            tot["sumD"][j] += 0 if np.isnan(d) else d
    out = {k: np.zeros(NJ + 1) for k in ("mota", "motp", "pre", "rec")}
    for j in range(NJ):
        n_obj = tot["num_objects"][j] if tot["num_objects"][j] > 0 else np.nan
        fp = tot["num_false_positives"][j]
        out["mota"][j] = 100 * (1.0 - (tot["num_misses"][j] + tot["num_switches"][j] + fp) / n_obj)
        det = tot["num_detections"][j]
        out["motp"][j] = 0.0 if det == 0 else 100 * (1.0 - tot["sumD"][j] / det)
        t = fp + det if fp + det > 0 else np.nan
        out["pre"][j] = 100 * det / t
        out["rec"][j] = 100 * det / n_obj
    for a in out.values():
        a[NJ] = a[:NJ][~np.isnan(a[:NJ])].mean()
    return out, tot


def evaluate(gt_dir: str, pred_dir: str, files: list[str] | None = None) -> dict:
    """AP, then MOT; like the official evaluate.py, each runs its own assignment pass."""
    gt, pr = load(gt_dir, pred_dir, files)
    scores, labels, n_gt, _ = assign(gt, pr)
    ap, pre, rec = ap_metrics(scores, labels, n_gt)
    _, _, _, mot_all = assign(gt, pr)
    mot, counts = mot_metrics(gt, mot_all)
    return {"ap": ap, "ap_pre": pre, "ap_rec": rec, **mot, "counts": counts}
