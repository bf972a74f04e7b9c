"""Forward throughput (crops/s) of the top-down HRNet networks; prints JSON.

Measures the bare network (random official init: speed does not depend on the weights) at
W32/W48 x 256x192/384x288 and batch 1/8/32, under ``torch.inference_mode``, after warm-up, as the
median of timed runs. On CUDA it also measures fp16 and bf16 autocast and channels_last.

    python benchmarks/pose_forward.py                 # CPU (and CUDA when available)
    python benchmarks/pose_forward.py --quick         # batches 1 and 8, fewer runs
    python benchmarks/pose_forward.py --device cuda --models hrnet-w48-384x288
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from posetrack.pose import build_model, model_spec  # noqa: E402

MODELS = ["hrnet-w32-256x192", "hrnet-w32-384x288", "hrnet-w48-256x192", "hrnet-w48-384x288"]
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


def time_forward(
    name: str, batch: int, device: torch.device, mode: str, warmup: int, runs: int, budget_s: float
) -> dict:
    """Median seconds per forward of ``batch`` crops; stops early once ``budget_s`` is spent (>= 1 run)."""
    model = build_model(name).to(device)
    w, h = model_spec(name).input_size
    x = torch.randn(batch, 3, h, w, device=device)
    if mode.endswith("channels_last"):
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    sync = _sync(device)
    times: list[float] = []
    with torch.inference_mode(), _precision(device, mode):
        # CPU: warm up on one crop (a full big batch costs tens of seconds and teaches little);
        # CUDA: on the real shape, so that cudnn.benchmark picks its kernels for it.
        warm = x if device.type == "cuda" else x[:1]
        for _ in range(warmup):
            model(warm)
        sync()
        start = time.perf_counter()
        for _ in range(runs):
            t0 = time.perf_counter()
            out = model(x)
            sync()
            times.append(time.perf_counter() - t0)
            if time.perf_counter() - start > budget_s:
                break
    med = statistics.median(times)
    return {
        "model": name,
        "input_hw": [h, w],
        "batch": batch,
        "mode": mode,
        "median_s": round(med, 5),
        "crops_per_s": round(batch / med, 2),
        "runs": len(times),
        "output_shape": list(out.shape),
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto", help="auto: CPU, plus CUDA if present")
    ap.add_argument("--models", nargs="+", default=MODELS)
    ap.add_argument("--batches", nargs="+", type=int, default=None, help="default 1 8 32 (quick: 1 8)")
    ap.add_argument("--runs", type=int, default=None, help="timed runs per point (default CPU 3, CUDA 20)")
    ap.add_argument("--budget-s", type=float, default=None, help="stop timing a point after this long (>= 1 run)")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    ap.add_argument("--quick", action="store_true", help="batches 1 and 8, fewer runs")
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
    batches = args.batches or ([1, 8] if args.quick else [1, 8, 32])
    report: dict = {
        "benchmark": "pose_forward",
        "torch": torch.__version__,
        "cpu": platform.processor() or platform.machine(),
        "cpu_threads": torch.get_num_threads(),
        "quick": args.quick,
        "results": [],
    }
    for device in devices:
        cuda = device.type == "cuda"
        if cuda:
            report["cuda_device"] = torch.cuda.get_device_name(device)
        modes = CUDA_MODES if cuda else ["fp32"]
        runs = args.runs or (20 if cuda else (2 if args.quick else 3))
        warmup = 10 if cuda else 1
        budget = args.budget_s or (10.0 if cuda else (5.0 if args.quick else 20.0))
        for name in args.models:
            for batch in batches:
                for mode in modes:
                    row = time_forward(name, batch, device, mode, warmup, runs, budget)
                    row["device"] = device.type
                    report["results"].append(row)
                    print(json.dumps(row), file=sys.stderr, flush=True)  # progress
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
