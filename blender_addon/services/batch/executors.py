"""Where worker processes run: a pool of threads on this machine (local), or one Ray task per
sequence on a local Ray or an existing cluster (ray), which does all the scheduling."""
from __future__ import annotations

import concurrent.futures as cf
import logging
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, field

from ...core.assets import config_roots
from ...core.config import Config
from ...core.dataset.documents import (
    canonical_json,
    dataset_document,
    write_dataset_json,
)
from ...core.dataset.layout import partial_name
from ...core.errors import MayhemInputError
from ...core.recipe_types import recipe_to_json
from ..progress import BatchProgress
from .job import WORKER_SCRIPT, run_job
from .options import CLI, GPU_DEVICES, BatchOptions
from .plan import Plan

log = logging.getLogger("mayhem.batch")


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def import_ray():
    try:
        import ray
    except ImportError:
        raise MayhemInputError(CLI, "--executor", "ray is not installed here: pip install 'mayhem-synth[ray]'") from None
    return ray


@dataclass
class Run:
    """Driver state while jobs are in flight."""

    plan: Plan
    entries: dict
    config_dict: dict
    progress: BatchProgress
    names: dict = field(default_factory=dict)      # name -> recipe
    running: dict = field(default_factory=dict)    # name -> worker pid (local) or None (ray)
    done: int = 0
    failed: int = 0
    frames_done: int = 0
    last_write: float = 0.0

    def write(self, force: bool = False) -> None:
        """dataset.json, atomically; at most every 10 s once it is large (it is rewritten whole)."""
        now = time.perf_counter()
        if not force and len(self.entries) > 1000 and now - self.last_write < 10.0:
            return
        ordered = [self.entries[k] for k in sorted(self.entries)]
        write_dataset_json(self.plan.out_dir, dataset_document(self.config_dict, ordered))
        self.last_write = now

    def frames_in_flight(self) -> int:
        n = 0
        for name in list(self.running):
            try:
                n += sum(1 for f in os.listdir(self.plan.out_dir / partial_name(name) / "rgb") if f.endswith(".png"))
            except OSError:
                pass
        return n

    def tick(self) -> None:
        self.progress.update(self.done, self.failed, self.frames_done + self.frames_in_flight())

    def finish(self, entry: dict) -> None:
        name = entry["name"]
        self.running.pop(name, None)
        if entry.get("status") == "interrupted":  # incomplete, not failed: a re-run renders it
            return
        if entry.get("status") == "done":
            self.done += 1
            self.frames_done += int(entry.get("frames", 0))
        else:
            self.failed += 1
            log.warning("%s failed: %s (log: %s)", name, entry.get("error"), entry.get("log"))
        self.entries[name] = entry
        self.write()
        self.tick()


def make_jobs(run: Run, todo: list, threads: int, opts: BatchOptions, blender: str | None) -> list[dict]:
    jobs = []
    # Asset roots of the config's user files (core.assets), on this machine: workers resolve the
    # recipes' ROOT:path references against them.
    roots = {name: str(folder) for name, folder in config_roots(run.plan.config, run.plan.config_path).items()}
    for recipe, sample_s in todo:
        jobs.append({
            "name": recipe.name, "index": recipe.index, "frames": recipe.frames,
            "people": len(recipe.people), "recipe_text": canonical_json(recipe_to_json(recipe)), "roots": roots,
            "out_dir": str(run.plan.out_dir.resolve()), "threads": int(threads), "retries": int(opts.retries),
            "worker_script": WORKER_SCRIPT, "blender": blender, "sample_s": round(sample_s, 3),
            # BLAS on one thread: labels are computed identically whatever the worker count.
            "env": {"PYTHONUNBUFFERED": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"},
        })
    return jobs


def _with_sample_time(entry: dict, job: dict) -> dict:
    entry.setdefault("timings", {})["sample_s"] = job["sample_s"]
    return entry


def execute_local(run: Run, jobs: list[dict], workers: int) -> None:
    def on_start(name, pid):
        run.running[name] = pid

    stop = threading.Event()
    pool = cf.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mayhem-job")
    futures = {pool.submit(run_job, job, on_start, stop): job for job in jobs}
    pending = set(futures)
    try:
        while pending:
            finished, pending = cf.wait(pending, timeout=1.0, return_when=cf.FIRST_COMPLETED)
            for fut in finished:
                job = futures[fut]
                try:
                    entry = fut.result()
                except Exception as exc:  # a bug in run_job itself must not lose the other sequences
                    entry = {"name": job["name"], "index": job["index"], "status": "failed", "frames": job["frames"],
                             "people": job["people"], "error": f"{type(exc).__name__}: {exc}"}
                run.finish(_with_sample_time(entry, job))
            run.tick()
    except BaseException:
        stop.set()
        for fut in pending:
            fut.cancel()
        for pid in list(run.running.values()):
            try:
                os.kill(pid, signal.SIGTERM)
            except OSError:
                pass
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def ray_resources(ray, opts: BatchOptions, config: Config) -> tuple[int, int]:
    """(CPUs per task = render threads, GPUs per task) from the cluster's smallest node."""
    nodes = [n for n in ray.nodes() if n.get("Alive") and n.get("Resources", {}).get("CPU", 0) > 0]
    if not nodes:
        raise MayhemInputError(opts.address, "--address", "the Ray cluster has no node with CPUs")
    cpus = int(min(n["Resources"]["CPU"] for n in nodes))
    gpus = int(min(n["Resources"].get("GPU", 0) for n in nodes))
    device = config.render.device
    use_gpu = device in GPU_DEVICES or (device == "auto" and gpus > 0)
    if use_gpu and gpus == 0:
        log.warning("render.device is %s but no Ray node has a GPU: tasks wait until one joins", device)
    per_node = opts.workers or (max(1, gpus) if use_gpu else 1)
    threads = config.render.threads or max(1, cpus // per_node)
    return min(threads, cpus), (1 if use_gpu else 0)


def execute_ray(run: Run, jobs: list[dict], opts: BatchOptions, ray) -> None:
    from ray import cloudpickle

    # run_job travels by value: Ray workers need not have `mayhem` importable, only Python.
    cloudpickle.register_pickle_by_value(sys.modules[run_job.__module__])
    remote = ray.remote(run_job)
    _, gpus = ray_resources(ray, opts, run.plan.config)
    pending = {}
    for job in jobs:
        ref = remote.options(num_cpus=job["threads"], num_gpus=gpus, max_retries=opts.retries,
                             name=f"mayhem {job['name']}").remote(job)
        pending[ref] = job
        run.running[job["name"]] = None
    try:
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=len(pending), timeout=1.0)
            for ref in ready:
                job = pending.pop(ref)
                try:
                    entry = ray.get(ref)
                except Exception as exc:  # the Ray worker itself died more often than max_retries
                    entry = {"name": job["name"], "index": job["index"], "status": "failed", "frames": job["frames"],
                             "people": job["people"], "log": f"logs/{job['name']}.log",
                             "error": f"Ray task failed: {type(exc).__name__}: {str(exc).strip().splitlines()[0][:300]}"}
                run.finish(_with_sample_time(entry, job))
            run.tick()
    except BaseException:
        for ref in pending:
            ray.cancel(ref, force=True)
        raise
