"""The driver: plan_batch + the executor, with resume. A sequence folder is renamed into place
only when complete (render_sequence), and the driver alone rewrites dataset.json, atomically. A
re-run checks every planned sequence on disk and renders the rest; a changed config is refused
unless forced."""
from __future__ import annotations

import logging
import os
import shutil
import sys
import time
from pathlib import Path

from ...core.config import Config
from ...core.dataset.documents import (
    normalised,
    read_dataset_json,
    sequence_complete,
)
from ...core.dataset.layout import DATASET_JSON
from ...core.dataset.staging import recover_stale, remove_sequences
from ...core.errors import MayhemInputError
from ..progress import BatchProgress, hms
from .executors import Run, available_cores, execute_local, execute_ray, import_ray, make_jobs, ray_resources
from .job import LOG_DIR, STATE_DIR, read_json
from .options import BatchOptions, check_options
from .plan import Plan, check_out_dir, config_changes, plan_batch

log = logging.getLogger("mayhem.batch")


def _acquire_lock(out_dir: Path):
    """One driver per dataset folder; the lock goes with the process, even after kill -9."""
    path = out_dir / STATE_DIR / "lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+", encoding="utf-8")
    try:
        import fcntl
    except ImportError:  # Windows: no lock
        return handle
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise MayhemInputError(out_dir, None, "another `mayhem generate` is writing to this folder") from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


def _clear_outputs(out_dir: Path) -> None:
    """--overwrite: remove what `mayhem generate` wrote, nothing else."""
    remove_sequences(out_dir)
    for p in (out_dir / LOG_DIR, out_dir / STATE_DIR / "jobs"):
        shutil.rmtree(p, ignore_errors=True)
    (out_dir / DATASET_JSON).unlink(missing_ok=True)


def _running_inside_blender() -> str | None:
    """The Blender binary when this driver itself runs in one (its Python cannot import bpy)."""
    bpy = sys.modules.get("bpy")
    path = getattr(getattr(bpy, "app", None), "binary_path", "") if bpy else ""
    return path or None


def run_batch(plan: Plan, options: BatchOptions | None = None) -> dict:
    """Render the planned sequences that are not complete yet; returns the summary.

    Raises MayhemInputError before rendering anything for bad options, a changed config
    (unless options.force), an unreadable dataset.json or a folder locked by another driver.
    """
    opts = options or BatchOptions()
    check_options(opts)
    t_start = time.perf_counter()
    out = plan.out_dir
    check_out_dir(out)
    config_dict = normalised(plan.config.to_dict())
    doc = None if opts.overwrite else read_dataset_json(out, hint="; use --overwrite to start over")
    changes: list[str] = []
    if doc is not None:
        old = doc.get("config")
        changes = (config_changes(old, config_dict) if isinstance(old, dict)
                   else ["config (none recorded: this dataset.json was not written by `mayhem generate`)"])
        if changes and not opts.force:
            raise MayhemInputError(
                out / DATASET_JSON, "config",
                "the config differs from the one this dataset was started with: " + "; ".join(changes)
                + ". Use --force to keep the dataset and re-render the sequences this changes, or --overwrite to start over")
        if changes:
            log.warning("config changed (forced): %s", "; ".join(changes))
    ray = import_ray() if opts.executor == "ray" else None
    blender = opts.blender or _running_inside_blender()

    out.mkdir(parents=True, exist_ok=True)
    lock = _acquire_lock(out)
    try:
        if opts.overwrite:
            _clear_outputs(out)
        recover_stale(out)
        previous = {e["name"]: e for e in (doc or {}).get("sequences", []) if isinstance(e, dict) and "name" in e}
        planned = {r.name for r in plan.recipes}
        # Entries of sequences outside this plan (an earlier run asked for more) stay, unless
        # the config changed: then nothing says they still match it.
        entries = {} if changes else {k: v for k, v in previous.items() if k not in planned}
        todo, skipped, carried_failed = [], [], []
        for recipe, sample_s in zip(plan.recipes, plan.sample_s):
            name = recipe.name
            prev = previous.get(name)
            if sequence_complete(out, recipe):
                if not (prev and prev.get("status") == "done"):
                    prev = read_json(str(out / STATE_DIR / "jobs" / f"{name}.result.json"))
                    if not (isinstance(prev, dict) and prev.get("status") == "done"):
                        prev = {"name": name, "index": recipe.index, "status": "done",
                                "frames": recipe.frames, "people": len(recipe.people)}
                entries[name] = prev
                skipped.append(name)
            elif prev and prev.get("status") == "failed" and not opts.retry_failed and not changes:
                entries[name] = prev
                carried_failed.append(name)
            else:
                todo.append((recipe, sample_s))
        total_frames = sum(r.frames for r, _ in todo)
        progress = BatchProgress(len(todo), total_frames, enabled=opts.progress and bool(todo))
        run = Run(plan=plan, entries=entries, config_dict=config_dict, progress=progress)
        run.write(force=True)
        if skipped:
            log.info("%d sequence(s) already complete in %s: skipped", len(skipped), out)
        if carried_failed:
            log.info("%d sequence(s) failed in an earlier run and are not retried (use --retry-failed): %s",
                     len(carried_failed), ", ".join(carried_failed[:5]) + (" ..." if len(carried_failed) > 5 else ""))

        executor_info = {"executor": opts.executor}
        if todo:
            if opts.executor == "ray":
                started_ray = not ray.is_initialized()
                if started_ray:
                    ray.init(address=opts.address, log_to_driver=False)
                try:
                    threads, gpus = ray_resources(ray, opts, plan.config)
                    executor_info.update(threads=threads, gpus_per_task=gpus)
                    jobs = make_jobs(run, todo, threads, opts, blender)
                    progress.start = time.perf_counter()
                    progress.update(0, 0, 0)
                    execute_ray(run, jobs, opts, ray)
                finally:
                    run.write(force=True)
                    if started_ray:
                        ray.shutdown()
            else:
                workers = min(opts.workers or 1, len(todo))
                cores = available_cores()
                threads = plan.config.render.threads or max(1, cores // workers)
                if threads * workers > cores:
                    log.warning("%d worker(s) x %d render thread(s) exceed the %d core(s) of this machine",
                                workers, threads, cores)
                executor_info.update(workers=workers, threads=threads)
                jobs = make_jobs(run, todo, threads, opts, blender)
                progress.start = time.perf_counter()
                progress.update(0, 0, 0)
                try:
                    execute_local(run, jobs, workers)
                finally:
                    run.write(force=True)
            progress.update(run.done, run.failed, run.frames_done, final=True)
        run.write(force=True)
    finally:
        lock.close()

    wall = time.perf_counter() - t_start
    rendered = [run.entries[n] for n in (r.name for r, _ in todo) if n in run.entries]
    done_now = [e for e in rendered if e.get("status") == "done"]
    failed_now = [e for e in rendered if e.get("status") != "done"]
    failed_all = failed_now + [run.entries[n] for n in carried_failed]
    timings = [e.get("timings", {}) for e in rendered]
    render_s = sum(t.get("render_s", 0.0) for t in timings)
    cloth_s = sum(t.get("cloth_s", 0.0) for t in timings)
    worker_s = sum(t.get("worker_s", 0.0) for t in timings)
    frames_now = sum(int(e.get("frames", 0)) for e in done_now)
    return {
        "out_dir": str(out), "done": len(done_now), "failed": len(failed_all), "skipped": len(skipped),
        "failed_names": [e["name"] for e in failed_all],
        "frames": {"done": frames_now, "failed": sum(int(e.get("frames", 0)) for e in failed_all),
                   "skipped": sum(int(run.entries[n].get("frames", 0)) for n in skipped)},
        "wall_s": round(wall, 3), "sample_s": round(plan.sample_total_s, 3), "render_s": round(render_s, 3),
        "cloth_s": round(cloth_s, 3),
        "worker_s": round(worker_s, 3), "frames_per_hour": round(frames_now / wall * 3600, 1) if wall > 0 else 0.0,
        "peak_rss_mb": max((e.get("peak_rss_mb") or 0.0 for e in rendered), default=0.0),
        "changed_config": changes, "entries": [run.entries[k] for k in sorted(run.entries)], **executor_info,
    }


def generate(config: Config, out_dir, options: BatchOptions | None = None, *, config_path=None,
             indices=None) -> dict:
    """plan_batch + run_batch: the whole of `mayhem generate`."""
    options = options or BatchOptions()
    plan = plan_batch(config, out_dir, config_path=config_path, indices=indices, progress=options.progress)
    return run_batch(plan, options)


def format_summary(summary: dict) -> str:
    """The table printed at the end of `mayhem generate`."""
    fr = summary["frames"]
    rows = [("rendered", summary["done"], fr["done"]), ("failed", summary["failed"], fr["failed"]),
            ("skipped", summary["skipped"], fr["skipped"])]
    lines = [f"{'':10s}{'sequences':>10s}{'frames':>9s}"]
    lines += [f"{label:10s}{n:>10d}{f:>9d}" for label, n, f in rows]
    wall, render, worker = summary["wall_s"], summary["render_s"], summary["worker_s"]
    lines.append(f"wall time {hms(wall)}, {summary['frames_per_hour']:.0f} frames/hour"
                 + (f", {summary.get('workers') or '?'} worker(s) x {summary.get('threads')} thread(s)"
                    if summary.get("executor") == "local" and summary.get("threads") else "")
                 + (f", ray: {summary.get('threads')} CPU(s)/task" if summary.get("executor") == "ray"
                    and summary.get("threads") else ""))
    if worker > 0:
        cloth = summary.get("cloth_s", 0.0)
        rest = worker - render - cloth
        lines.append(f"worker time {worker:.1f} s: render {render:.1f} s ({100 * render / worker:.0f} %), "
                     + (f"cloth simulation {cloth:.1f} s ({100 * cloth / worker:.0f} %), " if cloth else "")
                     + f"overhead {rest:.1f} s ({100 * rest / worker:.0f} %: "
                     f"process start, scene build, labels, writing); driver sampling {summary['sample_s']:.1f} s")
    if summary["failed_names"]:
        names = summary["failed_names"]
        lines.append(f"failed: {', '.join(names[:10])}{' ...' if len(names) > 10 else ''} "
                     f"(errors in dataset.json, logs in {summary['out_dir']}/logs/; rerun with --retry-failed)")
    return "\n".join(lines)
