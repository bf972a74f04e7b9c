"""`posetrack --help` and `posetrack eval posetrack` import nothing heavy they do not use.

Behaviour, not timing: each case runs in a fresh interpreter and lists the heavy modules that ended
up in ``sys.modules`` (the figures are in benchmarks/startup.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from posetrack.evaluation import synthetic_dataset as sd

HEAVY = ("torch", "torchvision", "cv2", "filterpy", "scipy.stats", "scipy.optimize", "av", "motmetrics",
         "matplotlib", "pycocotools", "tqdm")
ROOT = Path(__file__).resolve().parents[2]

_PROBE = """
import json, sys
argv, heavy = json.loads(sys.argv[1]), json.loads(sys.argv[2])
if argv is not None:
    from posetrack.cli.main import main
    sys.argv = ["posetrack", *argv]
    try:
        main()
    except SystemExit as e:
        code = e.code
    else:
        code = 0
else:
    import posetrack.cli.main  # noqa: F401
    import posetrack.config  # noqa: F401
    code = 0
loaded = sorted(m for m in sys.modules if any(m == h or m.startswith(h + ".") for h in heavy))
solver = "scipy.optimize._lsap" in loaded  # the C solver alone, loaded from its file (evaluation.mot)
loaded = [m for m in loaded if m != "scipy.optimize._lsap"]
print(json.dumps({"code": code, "loaded": loaded, "solver": solver}), file=sys.stderr)
"""


def _loaded(argv: list[str] | None) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(argv), json.dumps(HEAVY)],
        capture_output=True, text=True, env=env, timeout=120, cwd=ROOT, check=False,
    )
    return json.loads(proc.stderr.strip().splitlines()[-1])


def test_importing_the_cli_and_config_is_light() -> None:
    assert _loaded(None) == {"code": 0, "loaded": [], "solver": False}


def test_help_of_every_command_is_light() -> None:
    for argv in (["--help"], ["run", "--help"], ["eval", "coco", "--help"], ["weights", "--help"],
                 ["benchmark", "--help"], ["track", "--help"]):
        assert _loaded(argv) == {"code": 0, "loaded": [], "solver": False}, argv


def test_eval_posetrack_is_light(tmp_path: Path) -> None:
    seqs = sd.generate_sequences(n_sequences=2, n_frames=20, n_people=4, seed=0, width=320, height=240,
                                 label_every=1)
    paths = sd.write_dataset(str(tmp_path), seqs, images=False)
    pred = tmp_path / "pred"
    pred.mkdir()
    for i, p in enumerate(paths):
        gt = json.loads(Path(p).read_text())
        out = sd.make_predictions(gt, seed=i, noise=0.2, p_swap=0.2, p_false_person=0.3, p_miss_person=0.2)
        (pred / Path(p).name).write_text(json.dumps(out))
    res = _loaded(["eval", "posetrack", str(Path(paths[0]).parent), str(pred)])
    # the swaps and false people make some frames' assignments ambiguous: the solver runs
    assert res == {"code": 0, "loaded": [], "solver": True}
