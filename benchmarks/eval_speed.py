"""PoseTrack evaluation speed: posetrack's evaluator vs a poseval-style, motmetrics-based one.

The official toolkit (poseval) is not on the package index here, so the comparison is against
tests/evaluation/poseval_reference.py: the official procedure re-stated literally (per-person,
per-joint Python loops over the JSON dicts, motmetrics' MOTAccumulator and ``metrics.compute`` per
joint and sequence, as poseval does). A second figure isolates the MOT accounting: our
JointAccumulator vs motmetrics on identical per-frame inputs. Both evaluators' numbers are
compared (max absolute difference over every per-joint value).

    python benchmarks/eval_speed.py [--sequences 50] [--frames 75] [--people 5]

With ``--posetrack21``: the PoseTrack21 evaluation (keypoint HOTA + mAP). The whole process
(``posetrack eval posetrack21`` from start to printed tables, CPU and wall seconds) on
``--sequences`` x ``--frames`` x ``--people`` (default 10 x 50 x 6) against the literal
re-statement of the official kit (tests/evaluation/posetrack21_reference.py, same loops as the
kit; the kit itself needs numpy < 1.24 and is not installable here), then the evaluation alone on
``--many`` sequences (default 170, the size of the PoseTrack21 val split) with one process and with
parallel sequences.

    python benchmarks/eval_speed.py --posetrack21 [--many 170] [--workers N]

Times are CPU seconds (``time.process_time``), best of 3 for posetrack. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from posetrack.evaluation import synthetic_dataset as sd
from posetrack.evaluation.mot import JointAccumulator
from posetrack.evaluation.posetrack_eval import _prepare, evaluate_pairs
from posetrack.evaluation.posetrack_io import list_sequences, load_pairs


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


def make_dataset21(root: str, n_seq: int, n_frames: int, n_people: int, seed: int = 0) -> tuple[str, str]:
    """A PoseTrack21-style folder pair: GT with is_labeled / ignore-region lists on every image."""
    seqs = sd.generate_sequences(n_sequences=n_seq, n_frames=n_frames, n_people=n_people, seed=seed,
                                 width=640, height=480, label_every=1)  # fmt: skip
    gt_dir, pr_dir = os.path.join(root, "posetrack_data", "val"), os.path.join(root, "pred")
    os.makedirs(gt_dir)
    os.makedirs(pr_dir)
    for i, seq in enumerate(seqs):
        gt = sd.to_posetrack18(seq)
        for img in gt["images"]:
            img.setdefault("ignore_regions_x", [])
            img.setdefault("ignore_regions_y", [])
        pred = sd.make_predictions(gt, seed=i, noise=0.15, p_swap=0.03, p_false_person=0.1, p_miss_person=0.1)
        for d, data in ((gt_dir, gt), (pr_dir, pred)):
            with open(os.path.join(d, seq.name + ".json"), "w") as f:
                json.dump(data, f)
    return gt_dir, pr_dir


def whole_process(gt_dir: str, pr_dir: str, repeat: int = 3) -> dict:
    """``python -m posetrack.cli eval posetrack21``: best CPU (user + sys) and wall seconds."""
    repo = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    env = {**os.environ, "PYTHONPATH": repo}
    best_cpu = best_wall = float("inf")
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "posetrack.cli", "eval", "posetrack21", gt_dir, pr_dir],
                       check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        best_cpu, best_wall = min(best_cpu, cpu), min(best_wall, wall)
    return {"cpu_s": round(best_cpu, 3), "wall_s": round(best_wall, 3)}


def main21(args) -> None:
    from posetrack.evaluation import posetrack21 as pt

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    from tests.evaluation import posetrack21_reference as ref

    out: dict = {}
    with tempfile.TemporaryDirectory() as root:
        gt_dir, pr_dir = make_dataset21(root, args.sequences, args.frames, args.people)
        proc = whole_process(gt_dir, pr_dir)
        t_ours, res = time_it(lambda: pt.evaluate_dirs(gt_dir, pr_dir, workers=1), 3)
        case = {"sequences": args.sequences, "frames": args.frames, "people": args.people}
        out["small_case"] = {**case, "posetrack_whole_process": proc, "posetrack_in_process_cpu_s": round(t_ours, 3),
                             "HOTA": round(100 * float(res.hota["HOTA"][:, -1].mean()), 4),
                             "mAP": round(float(res.map["ap"][-1]), 4)}  # fmt: skip
        if not args.skip_reference:
            t_ref, (h, m, _) = time_it(lambda: ref.evaluate(gt_dir, pr_dir), 1)
            diff = max(float(np.nanmax(np.abs(np.asarray(res.hota[f]) - h[f]))) for f in pt.FLOAT_ARRAY_FIELDS)
            diff = max(diff, float(np.abs(res.map["ap"] - m[0]).max()))
            out["small_case"].update({
                "reference_cpu_s": round(t_ref, 3),
                "speedup_whole_process_cpu": round(t_ref / proc["cpu_s"], 1),
                "max_abs_diff_vs_reference": diff,
            })  # fmt: skip
    with tempfile.TemporaryDirectory() as root:
        gt_dir, pr_dir = make_dataset21(root, args.many, args.frames, args.people, seed=1)
        t1 = time.perf_counter()
        c1 = time.process_time()
        pt.evaluate_dirs(gt_dir, pr_dir, workers=1)
        serial = {"wall_s": round(time.perf_counter() - t1, 3), "cpu_s": round(time.process_time() - c1, 3)}
        workers = args.workers or pt.default_workers(args.many)
        t1 = time.perf_counter()
        pt.evaluate_dirs(gt_dir, pr_dir, workers=workers)
        parallel = {"wall_s": round(time.perf_counter() - t1, 3), "workers": workers}
        out["many_sequences"] = {"sequences": args.many, "frames": args.frames, "people": args.people,
                                 "one_process": serial, "parallel": parallel,
                                 "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None}  # fmt: skip
    out["reference"] = ("tests/evaluation/posetrack21_reference.py: the official kit's loops re-stated "
                        "(the kit needs numpy < 1.24 and is not installable here)")  # fmt: skip
    print(json.dumps(out, indent=1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sequences", type=int, default=None)
    ap.add_argument("--frames", type=int, default=None)
    ap.add_argument("--people", type=int, default=None)
    ap.add_argument("--skip-reference", action="store_true", help="only time posetrack's evaluator")
    ap.add_argument("--posetrack21", action="store_true", help="time the PoseTrack21 evaluation instead")
    ap.add_argument("--many", type=int, default=170, help="--posetrack21: sequences of the parallel case")
    ap.add_argument("--workers", type=int, default=0, help="--posetrack21: processes (0 = automatic)")
    args = ap.parse_args()
    defaults = (10, 50, 6) if args.posetrack21 else (50, 75, 5)
    for name, d in zip(("sequences", "frames", "people"), defaults):
        if getattr(args, name) is None:
            setattr(args, name, d)
    if args.posetrack21:
        main21(args)
        return

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
