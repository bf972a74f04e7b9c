"""Forward throughput of the pose networks, plain vs ``optimize_for_inference``; prints JSON.

Measures the bare network (random official init: speed does not depend on the weights) and its
inference copy side by side in one process, interleaved (plain, optimized, plain, ...; medians),
so that a shared machine slows both alike. Top-down HRNets report crops/s, bottom-up networks
images/s (at their square input size), with the speed-up and the largest output difference
relative to the plain output's magnitude. On CUDA it also measures fp16/bf16 autocast and
channels_last. ``--variants`` adds ablations (fold, fold-cl, plain-cl, compile).

    python benchmarks/pose_forward.py --device cpu --threads 2 --quick
    python benchmarks/pose_forward.py --models hrnet-w48-256x192 --batches 8 --threads 2
    python benchmarks/pose_forward.py --models higherhrnet-w32-512 --batches 1 --threads 2 \\
        --variants plain optimized fold fold-cl fold-cl-exchange plain-cl
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from posetrack.pose import build_model, model_spec, optimize_for_inference  # noqa: E402

MODELS = [
    "hrnet-w32-256x192", "hrnet-w32-384x288", "hrnet-w48-256x192", "hrnet-w48-384x288",
    "higherhrnet-w32-512", "higherhrnet-w48-640", "efficienthrnet-h0", "efficienthrnet-h-4",
]  # fmt: skip
QUICK_MODELS = ["hrnet-w48-256x192", "higherhrnet-w32-512"]  # the issue-12 goals: both >= 1.3x
VARIANTS = ["plain", "optimized"]
CUDA_MODES = ["fp32", "fp16", "bf16", "fp32-channels_last", "fp16-channels_last"]


@contextlib.contextmanager
def _precision(device: torch.device, mode: str) -> Iterator[None]:
    dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(mode.split("-")[0])
    if dtype is None:
        yield
    else:
        with torch.autocast(device.type, dtype=dtype):
            yield


def _sync(device: torch.device) -> Callable[[], None]:
    return torch.cuda.synchronize if device.type == "cuda" else (lambda: None)


def _first(out) -> torch.Tensor:
    return out if isinstance(out, torch.Tensor) else out[-1]


def variants(model: torch.nn.Module, names: list[str]) -> dict[str, torch.nn.Module]:
    """The networks compared side by side: ``plain`` (as built) and inference copies.

    optimized = optimize_for_inference (BN folded + channels_last + ReLU/residual fused into the
    oneDNN convolutions + fused exchange); the others switch parts off, to show what each pays:
    fold (BN folded only, NCHW), fold-cl (+ channels_last), fold-cl-exchange (+ fused exchange, no
    fused activations), plain-cl (channels_last only), compile (torch.compile, freezing on, of the channels_last network).
    """
    from posetrack.pose.optimize import _channels_last_input

    out: dict[str, torch.nn.Module] = {}
    for v in names:
        if v == "plain":
            out[v] = model
        elif v == "optimized":
            out[v] = optimize_for_inference(model)
        elif v == "fold":
            out[v] = optimize_for_inference(model, channels_last=False, fuse_exchange=False, fuse_activations=False)
        elif v == "fold-cl":
            out[v] = optimize_for_inference(model, fuse_exchange=False, fuse_activations=False)
        elif v == "fold-cl-exchange":
            out[v] = optimize_for_inference(model, fuse_activations=False)
        elif v == "plain-cl":
            m = copy.deepcopy(model).to(memory_format=torch.channels_last)
            m.register_forward_pre_hook(_channels_last_input)
            out[v] = m
        elif v == "compile":
            # The compiler folds and fuses by itself (freezing on): compile the plain network.
            import torch._inductor.config as inductor_config

            inductor_config.freezing = True
            m = copy.deepcopy(model).to(memory_format=torch.channels_last)
            m.register_forward_pre_hook(_channels_last_input)
            out[v] = torch.compile(m, dynamic=False)
        else:
            raise SystemExit(f"unknown variant {v!r}")
    return out


def time_forward(
    name: str, batch: int, device: torch.device, mode: str, runs: int, budget_s: float, names: list[str]
) -> dict:
    """Median seconds per forward of ``batch`` inputs for each variant, timed interleaved.

    The variants run one after the other in every round (plain, optimized, plain, ...), so a shared
    or throttled machine slows them alike; medians over rounds. Stops once ``budget_s`` is spent
    (>= 2 rounds).
    """
    spec = model_spec(name)
    model = build_model(name).to(device)
    w, h = spec.input_size
    x = torch.randn(batch, 3, h, w, device=device)
    plain_cl = mode.endswith("channels_last")
    if plain_cl:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    t_build = time.perf_counter()
    nets = variants(model, names)
    build_s = time.perf_counter() - t_build
    sync = _sync(device)
    times: dict[str, list[float]] = {v: [] for v in nets}
    cpu: dict[str, list[float]] = {v: [] for v in nets}
    with torch.inference_mode(), _precision(device, mode):
        # CPU: warm up on one input (a full big batch costs seconds and teaches little), which also
        # checks equivalence; CUDA: on the real shape, so that cudnn.benchmark picks its kernels.
        warm = x if device.type == "cuda" else x[:1]
        ref = _first(nets[names[0]](warm)).float()
        err = {}
        for v, net in nets.items():
            for _ in range(3 if device.type == "cuda" else 1):
                out = _first(net(warm)).float()
            err[v] = float((out - ref).abs().max() / ref.abs().max().clamp_min(1e-30))
        sync()
        start = time.perf_counter()
        for r in range(runs):
            for v, net in nets.items():
                t0, c0 = time.perf_counter(), time.process_time()
                out = net(x)
                sync()
                times[v].append(time.perf_counter() - t0)
                cpu[v].append(time.process_time() - c0)
            if r >= 1 and time.perf_counter() - start > budget_s:
                break
    med = {v: statistics.median(t) for v, t in times.items()}
    base = med[names[0]]
    unit = "crops_per_s" if spec.kind == "topdown" else "images_per_s"
    return {
        "model": name,
        "input_hw": [h, w],
        "batch": batch,
        "mode": mode,
        "rounds": len(times[names[0]]),
        "median_s": {v: round(m, 5) for v, m in med.items()},
        unit: {v: round(batch / m, 2) for v, m in med.items()},
        "speedup": {v: round(base / m, 3) for v, m in med.items()},
        # CPU seconds of the process per forward (all threads): on a machine shared with other
        # work, a steadier measure of the work done than wall time (set OMP_WAIT_POLICY=PASSIVE
        # so that idle OpenMP threads sleep instead of spinning).
        "cpu_s": {v: round(statistics.median(t), 5) for v, t in cpu.items()},
        "cpu_speedup": {v: round(statistics.median(cpu[names[0]]) / statistics.median(t), 3) for v, t in cpu.items()},
        "max_rel_err": {v: float(f"{e:.2e}") for v, e in err.items()},
        "prepare_s": round(build_s, 2),  # building the inference copies (and nothing compiled yet)
        "output_shape": list(_first(out).shape),
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto", help="auto: CPU, plus CUDA if present")
    ap.add_argument("--models", nargs="+", default=None, help=f"default {' '.join(MODELS)} (quick: the goals)")
    ap.add_argument(
        "--batches", nargs="+", type=int, default=None,
        help="default top-down 1 8 32 (quick: 8), bottom-up 1",
    )  # fmt: skip
    ap.add_argument("--runs", type=int, default=None, help="timed rounds per point (default CPU 5, CUDA 20)")
    ap.add_argument("--budget-s", type=float, default=None, help="stop timing a point after this long (>= 2 rounds)")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    ap.add_argument("--quick", action="store_true", help="batch 8 top-down / 1 bottom-up, fewer runs")
    ap.add_argument("--variants", nargs="+", default=VARIANTS, help="first one is the baseline (default plain)")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    # The official init (std 0.001) shrinks activations towards denormal floats, which x86 CPUs
    # process slowly; trained weights do not. Flushing them keeps the CPU figures representative.
    torch.set_flush_denormal(True)
    devices = [torch.device("cpu")] if args.device in ("auto", "cpu") else []
    if args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            ap.error("--device cuda: no CUDA device")
        devices.append(torch.device("cuda"))
        torch.backends.cudnn.benchmark = True
    models = args.models or (QUICK_MODELS if args.quick else MODELS)
    report: dict = {
        "benchmark": "pose_forward",
        "torch": torch.__version__,
        "cpu": platform.processor() or platform.machine(),
        "cpu_threads": torch.get_num_threads(),
        "quick": args.quick,
        "variants": args.variants,
        "results": [],
    }
    for device in devices:
        cuda = device.type == "cuda"
        if cuda:
            report["cuda_device"] = torch.cuda.get_device_name(device)
        modes = CUDA_MODES if cuda else ["fp32"]
        runs = args.runs or (20 if cuda else 5)
        budget = args.budget_s or (10.0 if cuda else (30.0 if args.quick else 60.0))
        for name in models:
            topdown = model_spec(name).kind == "topdown"
            batches = args.batches or ([8] if args.quick else [1, 8, 32]) if topdown else [1]
            for batch in batches:
                for mode in modes:
                    row = time_forward(name, batch, device, mode, runs, budget, args.variants)
                    row["device"] = device.type
                    report["results"].append(row)
                    print(json.dumps(row), file=sys.stderr, flush=True)  # progress
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
