"""Whole-process start-up: `posetrack --help` and `posetrack eval posetrack` on a 12 x 60 case.

Each command runs in a fresh interpreter (as a user runs it), best of ``--repeat`` runs, wall clock
and CPU (user + sys: steadier on a shared machine; the load average is printed too). Also listed:
the heavy modules each one imported (none is the goal) and the cumulative import time of the
``posetrack`` modules (``python -X importtime``). ``--tree DIR`` measures another checkout (before /
after figures).

    python benchmarks/startup.py [--sequences 12] [--frames 60] [--people 5] [--repeat 5]

The evaluation case is the one benchmarks/eval_speed.py builds (synthetic PoseTrack 2018 files);
the official toolkit takes ~8 s on it as a whole process (issue 10), so the goal is <= 0.4 s.
Prints one JSON object.
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

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from eval_speed import make_dataset  # noqa: E402  (after the path set-up)

HEAVY = ("torch", "torchvision", "cv2", "filterpy", "scipy.stats", "av", "motmetrics", "matplotlib",
         "pycocotools")
_PROBE = (
    "import sys, json; from posetrack.cli.main import main; heavy = json.loads(sys.argv[2])\n"
    "sys.argv = ['posetrack', *json.loads(sys.argv[1])]\n"
    "try:\n    main()\nexcept SystemExit:\n    pass\n"
    "print(json.dumps(sorted({m.split('.')[0] if m.split('.')[0] != 'scipy' else '.'.join(m.split('.')[:2])\n"
    "    for m in sys.modules if any(m == h or m.startswith(h + '.') for h in heavy)})), file=sys.stderr)\n"
)


TREE = ROOT  # the source tree measured (--tree: e.g. another checkout, for before/after figures)


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": TREE + os.pathsep + os.environ.get("PYTHONPATH", "")}


def timed(cmd: list[str], repeat: int) -> tuple[float, float]:
    """Best wall-clock seconds and best CPU seconds (user + sys of the child) of ``cmd``."""
    best_wall = best_cpu = float("inf")
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        subprocess.run(cmd, env=_env(), cwd=TREE, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        best_wall = min(best_wall, time.perf_counter() - t0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        best_cpu = min(best_cpu, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return best_wall, best_cpu


def heavy_imports(argv: list[str]) -> list[str]:
    proc = subprocess.run([sys.executable, "-c", _PROBE, json.dumps(argv), json.dumps(HEAVY)], env=_env(), cwd=TREE,
                          capture_output=True, text=True, check=True)
    return json.loads(proc.stderr.strip().splitlines()[-1])


def import_time_ms(argv: list[str]) -> float:
    """Cumulative microseconds python -X importtime reports for the top-level posetrack package."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "posetrack.cli", *argv], env=_env(), cwd=TREE,
                          capture_output=True, text=True, check=False)  # the report is on stderr either way
    total = 0
    for line in proc.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and not parts[2].startswith(" " * 2) and parts[2].strip().startswith("posetrack"):
            total += int(parts[1])
    return total / 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sequences", type=int, default=12)
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--people", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--tree", default=ROOT, help="source tree to measure (default: this checkout)")
    args = ap.parse_args()
    global TREE
    TREE = os.path.abspath(args.tree)
    py_wall, py_cpu = timed([sys.executable, "-c", "pass"], args.repeat)
    with tempfile.TemporaryDirectory() as tmp:
        gt_dir, pr_dir = make_dataset(tmp, args.sequences, args.frames, args.people)
        cases = {"help": ["--help"], "eval_posetrack": ["eval", "posetrack", gt_dir, pr_dir]}
        out = {"tree": TREE, "case": f"{args.sequences} sequences x {args.frames} frames x {args.people} people",
               "python_startup_wall_s": round(py_wall, 3), "python_startup_cpu_s": round(py_cpu, 3),
               "load_average_1min": round(os.getloadavg()[0], 2)}
        for name, argv in cases.items():
            w, c = timed([sys.executable, "-m", "posetrack.cli", *argv], args.repeat)
            out[f"{name}_wall_s"], out[f"{name}_cpu_s"] = round(w, 3), round(c, 3)
            out[f"{name}_posetrack_imports_ms"] = round(import_time_ms(argv), 1)
            out[f"{name}_heavy_modules"] = heavy_imports(argv)
    out["eval_speedup_vs_official_8s"] = round(8.0 / out["eval_posetrack_wall_s"], 1)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
