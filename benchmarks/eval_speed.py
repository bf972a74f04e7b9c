"""PoseTrack evaluation speed: posetrack's evaluator vs a poseval-style, motmetrics-based one.

The official toolkit (poseval) is not on the package index here, so the comparison is against
tests/evaluation/poseval_reference.py: the official procedure re-stated literally (per-person,
per-joint Python loops over the JSON dicts, motmetrics' MOTAccumulator and ``metrics.compute`` per
joint and sequence, as poseval does). A second figure isolates the MOT accounting: our
JointAccumulator vs motmetrics on identical per-frame inputs. Both evaluators' numbers are
compared (max absolute difference over every per-joint value).

    python benchmarks/eval_speed.py [--sequences 50] [--frames 75] [--people 5]

Times are CPU seconds (``time.process_time``), best of 3 for posetrack. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from posetrack.evaluation import synthetic_dataset as sd  # noqa: E402
from posetrack.evaluation.mot import JointAccumulator  # noqa: E402
from posetrack.evaluation.posetrack_eval import _prepare, evaluate_pairs  # noqa: E402
from posetrack.evaluation.posetrack_io import list_sequences, load_pairs  # noqa: E402


def make_dataset(root: str, n_seq: int, n_frames: int, n_people: int) -> tuple[str, str]:
    seqs = sd.generate_sequences(n_sequences=n_seq, n_frames=n_frames, n_people=n_people, seed=0,
                                 width=640, height=480, label_every=1)  # fmt: skip
    paths = sd.write_dataset(root, seqs, images=False)
    pr_dir = os.path.join(root, "pred")
    os.makedirs(pr_dir)
    for i, p in enumerate(paths):
        with open(p) as f:
            gt = json.load(f)
        pred = sd.make_predictions(gt, seed=i, noise=0.15, p_swap=0.03, p_false_person=0.1, p_miss_person=0.1)
        with open(os.path.join(pr_dir, os.path.basename(p)), "w") as f:
            json.dump(pred, f)
    return os.path.join(root, "annotations", "val"), pr_dir


def time_it(fn, repeat: int = 1):
    """Best CPU time (process_time: robust on a shared machine; both sides run single-threaded)."""
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.process_time()
        out = fn()
        best = min(best, time.process_time() - t0)
    return best, out


def mot_only(gt_dir: str, pr_dir: str) -> dict:
    """Time the MOT accounting alone on the evaluation's own per-frame inputs."""
    import motmetrics as mm

    works = [_prepare(g, p) for g, p in load_pairs(gt_dir, pr_dir)]
    inputs = [[m.mot for m in w.matches[:-1]] for w in works]
    dense = [[[f.dense(j) for j in range(15)] for f in seq] for seq in inputs]

    def ours():
        for seq in inputs:
            accs = [JointAccumulator() for _ in range(15)]
            for f in seq:
                for j, acc in enumerate(accs):
                    acc.update_pairs(f.n_obj[j], f.n_hyp[j], f.raw[j], f.cands[j], lambda f=f, j=j: f.dense(j))

    def theirs():
        mh = mm.metrics.create()
        names = ["num_misses", "num_switches", "num_false_positives", "num_objects", "num_detections"]
        for seq in dense:
            accs = [mm.MOTAccumulator(auto_id=True) for _ in range(15)]
            for frame in seq:
                for j, (o, h, d) in enumerate(frame):
                    accs[j].update(o.tolist(), h.tolist(), d)
            for a in accs:
                mh.compute(a, metrics=names, return_dataframe=False, name="acc")
                a.events["D"].sum()

    t_ours, _ = time_it(ours, 3)
    t_mm, _ = time_it(theirs, 1)
    return {"ours_s": round(t_ours, 4), "motmetrics_s": round(t_mm, 3), "speedup": round(t_mm / t_ours, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sequences", type=int, default=50)
    ap.add_argument("--frames", type=int, default=75)
    ap.add_argument("--people", type=int, default=5)
    ap.add_argument("--skip-reference", action="store_true", help="only time posetrack's evaluator")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as root:
        gt_dir, pr_dir = make_dataset(root, args.sequences, args.frames, args.people)
        files = list_sequences(gt_dir)
        t_ours, res = time_it(lambda: evaluate_pairs(load_pairs(gt_dir, pr_dir)), 3)
        out = {
            "dataset": {"sequences": args.sequences, "frames_per_sequence": args.frames, "people": args.people,
                        "labeled_frames": res.n_frames},  # fmt: skip
            "posetrack_s": round(t_ours, 3),
            "posetrack_frames_per_s": round(res.n_frames / t_ours, 1),
            "ap_total": round(float(res.ap[15]), 4),
            "mota_total": round(float(res.mota[15]), 4),
            "mot_accounting_only": mot_only(gt_dir, pr_dir),
        }
        if not args.skip_reference:
            sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
            from tests.evaluation import poseval_reference as ref

            t_ref, theirs = time_it(lambda: ref.evaluate(gt_dir, pr_dir, files), 1)
            diffs = [
                float(np.nanmax(np.abs(a - theirs[k])))
                for k, a in (("ap", res.ap), ("ap_pre", res.ap_pre), ("ap_rec", res.ap_rec), ("mota", res.mota),
                             ("motp", res.motp), ("pre", res.mot_pre), ("rec", res.mot_rec))  # fmt: skip
            ]
            out.update({
                "reference_s": round(t_ref, 2),
                "speedup_vs_reference": round(t_ref / t_ours, 1),
                "max_abs_diff_vs_reference": max(diffs),
                "reference": "tests/evaluation/poseval_reference.py (poseval procedure, motmetrics "
                             "accounting; the official package itself is not installable here)",
            })  # fmt: skip
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
