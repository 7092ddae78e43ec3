"""Batch generation benchmark: throughput with 1 and 2 local workers, what the driver adds per
sequence, and whether memory stays flat over many sequences.

    python bench/bench_batch.py [--sequences 4] [--frames 4] [--resolution 320 180] [--samples 8]
                                [--memory-sequences 50] [--skip-throughput] [--skip-memory]

1. Throughput: the same N sequences (the quickstart config: free body, 1-2 people, bundled
   procedural motions and HDRIs, at the given size) rendered into fresh folders with
   `--workers 1` and `--workers 2`; wall time including planning, frames/hour, ratio.
2. Overhead, from the 1-worker run: driver + scheduling = (plan + run wall time) - the sum of
   the worker processes' wall times, i.e. everything no worker was running for (sampling
   recipes, completeness checks, dataset.json writes, process spawn and reaping), per sequence
   and as a share of Cycles render time (goal <= 2 %). The worker-side cost of process
   isolation (interpreter + bpy import, asset loading and scene build, labels and writing) is
   reported separately.
3. Memory: M tiny sequences (96x54, 1 frame, 1 sample) with 2 workers; the driver's RSS is
   sampled every 0.1 s, each worker's peak RSS comes from wait4(). Flat means the last
   sequences cost what the first ones did.

Everything runs in this process (the driver) with bpy only in the workers. The machine may be
shared with other jobs: the load average is printed next to each figure.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
import conftest  # noqa: E402,F401  (makes `mayhem` importable from a checkout)
import yaml  # noqa: E402

from mayhem.core.config import config_from_dict  # noqa: E402
from mayhem.services.batch import BatchOptions, plan_batch, run_batch  # noqa: E402


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def config(sequences, frames, width, height, samples, people=None, denoise=True):
    data = yaml.safe_load((ROOT / "assets" / "configs" / "quickstart.yaml").read_text())
    data.update(sequences=sequences, frames=frames)
    data["camera"]["resolution"] = [width, height]
    data["render"].update(samples=samples, denoise=denoise)
    if people:
        data["people"]["count"] = people
    return config_from_dict(data)


def run(cfg, out: Path, workers: int) -> dict:
    t0 = time.perf_counter()
    plan = plan_batch(cfg, out)
    t_plan = time.perf_counter() - t0
    summary = run_batch(plan, BatchOptions(workers=workers, progress=False))
    wall = time.perf_counter() - t0
    assert summary["failed"] == 0, summary["failed_names"]
    entries = summary["entries"]
    return {"wall": wall, "plan": t_plan, "entries": entries, "summary": summary,
            "frames": sum(e["frames"] for e in entries)}


def tsum(entries, key):
    return sum(e["timings"].get(key, 0.0) for e in entries)


def throughput(args, tmp: Path) -> None:
    W, H = args.resolution
    cfg = config(args.sequences, args.frames, W, H, args.samples)
    print(f"\n## Throughput and overhead ({args.sequences} sequences x {args.frames} frames, {W}x{H}, "
          f"{args.samples} samples, denoise on, 1-2 people)\n")
    results = {}
    for workers in (1, 2):
        la = load()
        results[workers] = r = run(cfg, tmp / f"w{workers}", workers)
        r["load"] = f"{la} -> {load()}"
    print("| workers | threads/render | wall | frames/hour | throughput ratio | worker CPU s/frame | load avg (1/5/15 min) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for workers, r in results.items():
        fph = r["frames"] / r["wall"] * 3600
        ratio = results[1]["wall"] / r["wall"]
        cpu = tsum(r["entries"], "cpu_s") / r["frames"]
        print(f"| {workers} | {r['summary']['threads']} | {r['wall']:.1f} s | {fph:.0f} | {ratio:.2f} | {cpu:.2f} "
              f"| {r['load']} |")
    print("\n(Worker CPU seconds per frame do not depend on other jobs' load; wall time does.)")
    same = all((tmp / "w1" / e["name"] / "labels.npz").read_bytes() == (tmp / "w2" / e["name"] / "labels.npz").read_bytes()
               for e in results[1]["entries"])
    print(f"\nlabels.npz byte-identical between 1 and 2 workers: {same}")

    r = results[1]
    e = r["entries"]
    n = len(e)
    render = tsum(e, "render_s")
    worker = tsum(e, "worker_s")
    driver = r["wall"] - worker
    print(f"\nPer sequence, 1 worker (mean of {n}):\n")
    print("| part | seconds | share of render time |")
    print("| --- | --- | --- |")
    rows = [("Cycles render (render_s)", render),
            ("driver + scheduling: plan, checks, spawn, dataset.json (wall - worker time)", driver),
            ("  of which recipe sampling (plan_batch)", r["plan"]),
            ("worker start-up: interpreter + bpy import (startup_s)", tsum(e, "startup_s")),
            ("worker scene build incl. asset loading (build_s)", tsum(e, "build_s")),
            ("worker labels + file writing (labels_s)", tsum(e, "labels_s"))]
    for label, total in rows:
        print(f"| {label} | {total / n:.3f} | {100 * total / render:.2f} % |")
    print(f"\ndriver + scheduling overhead: {100 * driver / render:.2f} % of render time (goal <= 2 %)")


def memory(args, tmp: Path) -> None:
    M = args.memory_sequences
    cfg = config(M, 1, 96, 54, 1, people=[1, 1], denoise=False)
    out = tmp / "mem"
    samples, stop = [], threading.Event()

    def sampler():
        while not stop.is_set():
            done = sum(1 for p in out.glob("seq_*")) if out.exists() else 0
            samples.append((time.perf_counter(), done, rss_mb()))
            time.sleep(0.1)

    base = rss_mb()
    t = threading.Thread(target=sampler, daemon=True)
    la = load()
    t.start()
    try:
        r = run(cfg, out, 2)
    finally:
        stop.set()
        t.join()
    print(f"\n## Memory over {M} tiny sequences (96x54, 1 frame, 1 sample, 2 workers; load {la} -> {load()})\n")
    peaks = [e["peak_rss_mb"] for e in sorted(r["entries"], key=lambda e: e["index"])]
    k = max(1, min(10, M // 5))

    def driver_at(frac):
        target = int(round(frac * M))
        vals = [rss for _, done, rss in samples if done >= target]
        return vals[0] if vals else float("nan")

    print("| process | first | middle | last | max |")
    print("| --- | --- | --- | --- | --- |")
    print(f"| driver RSS (MB) at 10 % / 50 % / 100 % of sequences done | {driver_at(0.1):.0f} | {driver_at(0.5):.0f} "
          f"| {samples[-1][2]:.0f} | {max(s[2] for s in samples):.0f} |")
    print(f"| worker peak RSS (MB), mean of first / middle / last {k} sequences | {statistics.mean(peaks[:k]):.0f} "
          f"| {statistics.mean(peaks[M // 2 - k // 2: M // 2 - k // 2 + k]):.0f} | {statistics.mean(peaks[-k:]):.0f} "
          f"| {max(peaks):.0f} |")
    print(f"\ndriver RSS before planning: {base:.0f} MB; wall {r['wall']:.0f} s for {M} sequences "
          f"({r['wall'] / M:.2f} s/sequence)")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sequences", type=int, default=4)
    p.add_argument("--frames", type=int, default=4)
    p.add_argument("--resolution", type=int, nargs=2, default=(320, 180))
    p.add_argument("--samples", type=int, default=8)
    p.add_argument("--memory-sequences", type=int, default=50)
    p.add_argument("--skip-throughput", action="store_true")
    p.add_argument("--skip-memory", action="store_true")
    p.add_argument("--keep", default=None, help="keep the datasets in this folder")
    args = p.parse_args()
    tmp = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="mayhem_bench_batch_"))
    print(f"cores: {len(os.sched_getaffinity(0))}, python {sys.version.split()[0]}")
    try:
        if not args.skip_throughput:
            throughput(args, tmp)
        if not args.skip_memory:
            memory(args, tmp)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
