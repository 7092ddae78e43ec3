"""Batch generation: plan on the driver, render each sequence in its own process, resume safely.

The driver samples every recipe with core code (no Blender), so bad input stops the run before
anything is rendered, and a cluster head needs no Blender at all. Each sequence is then handed,
as its recipe file, to a fresh worker process (services/worker.py: bpy in a subprocess of this
Python, or a `blender -b` binary), so memory stays flat over thousands of sequences and a crash
costs one sequence. Executors only decide where that process runs:

- local: a pool of K threads on this machine, each waiting on one worker process;
- ray:   one Ray task per sequence (CPU/GPU resource requests, Ray's retries), on a local Ray
         or an existing cluster (`--address`); Ray does all the scheduling.

Resume: a sequence folder is renamed into place only when complete (render_sequence), and the
driver alone rewrites dataset.json, atomically. A re-run checks every planned sequence on disk
(folder with labels.npz, all frame files, and scene.json equal to the freshly sampled recipe),
skips complete ones and renders the rest; a changed config is refused unless forced.
"""
from __future__ import annotations

import concurrent.futures as cf
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..core.config import Config
from ..core.dataset.documents import (
    canonical_json,
    dataset_document,
    normalised,
    read_dataset_json,
    sequence_complete,
    write_dataset_json,
)
from ..core.dataset.layout import DATASET_JSON, partial_name
from ..core.dataset.staging import recover_stale, remove_sequences
from ..core.errors import MayhemInputError
from ..core.recipe import AssetCache, sample_recipe

log = logging.getLogger("mayhem.batch")

EXECUTORS = ("local", "ray")
STATE_DIR = ".mayhem"          # driver state: lock, job recipes, worker results
LOG_DIR = "logs"               # one log per sequence: the worker's stdout and stderr
IGNORED_CONFIG_FIELDS = ("sequences",)  # asking for more (or fewer) sequences is not a change
GPU_DEVICES = ("optix", "cuda", "hip", "metal", "oneapi")
WORKER_SCRIPT = str(Path(__file__).resolve().with_name("worker.py"))
_MISSING = object()
CLI = "command line"  # the "file" named by errors in options


@dataclass
class BatchOptions:
    """How to run a planned batch (the `mayhem generate` options)."""

    workers: int | None = None      # local: parallel renders (default 1); ray: renders per node
    executor: str = "local"         # 'local' or 'ray'
    address: str | None = None      # ray: address of an existing cluster (None: a local Ray)
    overwrite: bool = False         # delete previous outputs and start over
    force: bool = False             # accept a changed config (re-renders what it changes)
    retry_failed: bool = False      # rerun sequences recorded as failed
    blender: str | None = None      # a Blender binary for the workers (default: this Python + bpy)
    retries: int = 1                # extra attempts for a worker process that crashed
    progress: bool = True           # overall progress bar on stderr


@dataclass
class Plan:
    """Every recipe of the batch, sampled up front (no Blender), and what sampling cost."""

    config: Config
    out_dir: Path
    recipes: list
    sample_s: list
    config_path: object = None
    sample_total_s: float = 0.0


# ------------------------------------------------------------------------------ planning
def _check_out_dir(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise MayhemInputError(out, "--out", "exists and is not a folder; name a new or existing dataset folder")


def plan_batch(config: Config, out_dir, *, config_path=None, indices=None, progress: bool = False) -> Plan:
    """Sample the recipes of sequences `indices` (default 0..config.sequences-1).

    Raises MayhemInputError (nothing written) for bad config, models, motions or HDRIs.
    progress: report on stderr while sampling (it takes a while for thousands of sequences).
    """
    _check_out_dir(Path(out_dir))
    indices = list(range(config.sequences)) if indices is None else [int(i) for i in indices]
    cache = AssetCache()
    recipes, times = [], []
    t_all = last = time.perf_counter()
    tty = progress and sys.stderr.isatty()
    for k, i in enumerate(indices):
        t0 = time.perf_counter()
        recipes.append(sample_recipe(config, i, config_path=config_path, cache=cache))
        times.append(time.perf_counter() - t0)
        if progress and t0 - last >= (1.0 if tty else 30.0):
            last = t0
            sys.stderr.write(f"{chr(13) if tty else ''}sampling recipes: {k + 1}/{len(indices)}{'' if tty else chr(10)}")
            sys.stderr.flush()
    if tty and time.perf_counter() - t_all >= 1.0:
        sys.stderr.write(f"\rsampling recipes: {len(indices)}/{len(indices)}\n")
    total = time.perf_counter() - t_all
    log.debug("sampled %d recipe(s) in %.2f s", len(recipes), total)
    return Plan(config=config, out_dir=Path(out_dir).expanduser(), recipes=recipes, sample_s=times,
                config_path=config_path, sample_total_s=total)


def _short(value) -> str:
    text = "(absent)" if value is _MISSING else json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."


def config_changes(old: dict, new: dict, prefix: str = "") -> list[str]:
    """Dotted paths of the fields that differ, each with its old and new value."""
    changes = []
    for key in sorted(set(old) | set(new)):
        path = f"{prefix}.{key}" if prefix else key
        if not prefix and key in IGNORED_CONFIG_FIELDS:
            continue
        a, b = old.get(key, _MISSING), new.get(key, _MISSING)
        if isinstance(a, dict) and isinstance(b, dict):
            changes.extend(config_changes(a, b, path))
        elif a != b:
            changes.append(f"{path} ({_short(a)} -> {_short(b)})")
    return changes


# --------------------------------------------------------------------- the worker process
# Everything from here to the executors uses the standard library only: Ray ships `run_job`
# to its workers by value, and they may not have `mayhem` importable.
def _write_text_atomic(path: str, text: str) -> None:
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _read_json(path: str):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _last_line(path: str) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 4096))
            lines = [ln.strip() for ln in f.read().decode("utf-8", "replace").splitlines() if ln.strip()]
    except OSError:
        return ""
    lines = [ln for ln in lines if not ln.startswith("# mayhem")]
    return lines[-1][:300] if lines else ""


def _worker_command(job: dict, job_path: str, result_path: str) -> list[str]:
    args = [job_path, "--out", job["out_dir"], "--result", result_path, "--parent-pid", str(os.getpid())]
    if job.get("threads"):
        args += ["--threads", str(job["threads"])]
    script = job["worker_script"]
    if job.get("blender"):
        return [job["blender"], "-b", "--factory-startup", "-noaudio", "--python-exit-code", "1",
                "-P", script, "--", *args]
    if os.path.isfile(script):  # works whether or not `mayhem` is installed in this Python
        return [sys.executable, script, *args]
    return [sys.executable, "-m", "mayhem.services.worker", *args]


def _wait_child(proc) -> tuple[int, float | None, float | None]:
    """Exit code (negative: killed by that signal), the child's peak RSS in MB and CPU seconds."""
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    except (AttributeError, ChildProcessError):  # no wait4 (Windows)
        return proc.wait(), None, None
    code = os.waitstatus_to_exitcode(status)
    proc.returncode = code
    scale = 1.0 / 2**20 if sys.platform == "darwin" else 1.0 / 1024  # bytes on macOS, KiB on Linux
    return code, round(usage.ru_maxrss * scale, 1), usage.ru_utime + usage.ru_stime


def run_job(job: dict, on_start=None, stop=None) -> dict:
    """Render one sequence in a fresh worker process; returns its dataset.json entry (a failure of
    the sequence is an entry with status "failed", not an exception).

    job: name, index, frames, people, recipe_text, out_dir, threads, retries, worker_script,
    blender, env. A worker that crashes (killed by a signal, or gone without a result) is
    started again up to `retries` times; a sequence that fails with an error is not.
    on_start(name, pid) is called when a worker starts; once `stop` (a threading.Event) is set,
    the job ends with status 'interrupted', which the driver does not record.
    """
    name, out = job["name"], job["out_dir"]
    state = os.path.join(out, ".mayhem", "jobs")
    os.makedirs(state, exist_ok=True)
    os.makedirs(os.path.join(out, "logs"), exist_ok=True)
    job_path = os.path.join(state, f"{name}.json")
    result_path = os.path.join(state, f"{name}.result.json")
    log_rel = f"logs/{name}.log"
    log_path = os.path.join(out, log_rel)
    _write_text_atomic(job_path, job["recipe_text"])
    max_attempts = 1 + max(0, int(job.get("retries", 0)))
    env = {**os.environ, **job.get("env", {})}
    base = {"name": name, "index": job["index"], "frames": job["frames"], "people": job["people"], "log": log_rel}
    entry: dict = {}
    worker_s, cpu_s, peak = 0.0, 0.0, None
    for attempt in range(1, max_attempts + 1):
        if stop is not None and stop.is_set():
            return {**base, "status": "interrupted"}
        if os.path.exists(result_path):
            os.remove(result_path)
        cmd = _worker_command(job, job_path, result_path)
        t0 = time.perf_counter()
        with open(log_path, "w" if attempt == 1 else "a", encoding="utf-8") as logf:
            logf.write(f"# mayhem worker, attempt {attempt}/{max_attempts}: {' '.join(cmd)}\n")
            logf.flush()
            try:
                proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                                        env=env, cwd=out)
            except OSError as exc:
                entry = {**base, "status": "failed", "error": f"cannot start the worker ({cmd[0]}): {exc}"}
                break
            if on_start is not None:
                on_start(name, proc.pid)
            code, rss, cpu = _wait_child(proc)
        wall = time.perf_counter() - t0
        worker_s += wall
        cpu_s += cpu or 0.0
        peak = rss if peak is None or (rss is not None and rss > peak) else peak
        result = _read_json(result_path)
        if isinstance(result, dict) and result.get("status") in ("done", "failed"):
            main_s = result.pop("main_s", None)
            entry = {**base, **result}
            if result["status"] == "done":
                entry["timings"] = dict(entry.get("timings") or {})
                if main_s is not None:
                    entry["timings"]["startup_s"] = round(max(0.0, wall - main_s), 3)
            break  # done, or an error that another attempt would only repeat
        if stop is not None and stop.is_set():
            shutil.rmtree(os.path.join(out, f".{name}.partial"), ignore_errors=True)
            return {**base, "status": "interrupted"}
        if code < 0:
            try:
                why = f"worker killed by signal {-code} ({signal.Signals(-code).name})"
            except ValueError:
                why = f"worker killed by signal {-code}"
        else:
            why = f"worker exited with status {code} without a result"
        last = _last_line(log_path)
        entry = {**base, "status": "failed", "error": why + (f"; last log line: {last}" if last else "")}
        with open(log_path, "a", encoding="utf-8") as logf:
            logf.write(f"# mayhem: attempt {attempt}/{max_attempts} failed: {why}\n")
        # A crash can leave the hidden temporary folder behind; it is never visible as a sequence.
        shutil.rmtree(os.path.join(out, f".{name}.partial"), ignore_errors=True)
    entry["attempts"] = attempt
    entry.setdefault("timings", {}).update(worker_s=round(worker_s, 3), cpu_s=round(cpu_s, 3))
    if peak is not None:
        entry["peak_rss_mb"] = peak
    if entry.get("status") == "done":
        _write_text_atomic(result_path, json.dumps(entry, sort_keys=True))  # lets a resumed driver recover it
        try:
            os.remove(job_path)  # scene.json now holds the recipe
        except OSError:
            pass
    return entry


# ------------------------------------------------------------------------------ progress
def _hms(seconds: float) -> str:
    seconds = int(max(0, seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class BatchProgress:
    """One overall line: sequences, frames (counted as they appear on disk) and ETA.

    On a terminal it is redrawn in place every second; in a log file a line is written each
    time a sequence finishes.
    """

    def __init__(self, sequences: int, frames: int, enabled: bool = True, stream=None, width: int = 24):
        self.sequences, self.frames, self.enabled, self.width = sequences, frames, enabled, width
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.start = time.perf_counter()
        self.last = None

    def line(self, done: int, failed: int, frames_done: int) -> str:
        elapsed = time.perf_counter() - self.start
        frac = frames_done / max(self.frames, 1)
        filled = int(round(frac * self.width))
        rate = frames_done / elapsed if elapsed > 0 else 0.0
        eta = (self.frames - frames_done) / rate if rate > 0 else None
        fail = f", {failed} failed" if failed else ""
        return (f"mayhem [{'#' * filled}{'.' * (self.width - filled)}] {done + failed}/{self.sequences} sequences{fail}"
                f" | {frames_done}/{self.frames} frames | {_hms(elapsed)} elapsed, eta "
                f"{_hms(eta) if eta is not None else '?'}")

    def update(self, done: int, failed: int, frames_done: int, final: bool = False) -> None:
        if not self.enabled:
            return
        if self.tty:
            self.stream.write("\r" + self.line(done, failed, frames_done) + ("\n" if final else ""))
        elif (done, failed) != self.last:
            self.stream.write(self.line(done, failed, frames_done) + "\n")
            self.last = (done, failed)
        self.stream.flush()


# ----------------------------------------------------------------------------- the driver
def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


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


def _import_ray():
    try:
        import ray
    except ImportError:
        raise MayhemInputError(CLI, "--executor", "ray is not installed here: pip install 'mayhem-synth[ray]'") from None
    return ray


def _check_options(opts: BatchOptions) -> None:
    if opts.executor not in EXECUTORS:
        raise MayhemInputError(CLI, "--executor", f"must be one of {', '.join(EXECUTORS)}, got {opts.executor!r}")
    if opts.workers is not None and opts.workers < 1:
        raise MayhemInputError(CLI, "--workers", f"must be >= 1, got {opts.workers}")
    if opts.retries < 0:
        raise MayhemInputError(CLI, "--retries", f"must be >= 0, got {opts.retries}")
    if opts.blender and not (os.path.isfile(opts.blender) and os.access(opts.blender, os.X_OK)):
        raise MayhemInputError(opts.blender, "--blender", "not an executable file")
    if opts.address and opts.executor != "ray":
        raise MayhemInputError(CLI, "--address", "only meaningful with --executor ray")


@dataclass
class _Run:
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


def _make_jobs(run: _Run, todo: list, threads: int, opts: BatchOptions, blender: str | None) -> list[dict]:
    jobs = []
    for recipe, sample_s in todo:
        jobs.append({
            "name": recipe["name"], "index": int(recipe["index"]), "frames": int(recipe["frames"]),
            "people": len(recipe["people"]), "recipe_text": canonical_json(recipe),
            "out_dir": str(run.plan.out_dir.resolve()), "threads": int(threads), "retries": int(opts.retries),
            "worker_script": WORKER_SCRIPT, "blender": blender, "sample_s": round(sample_s, 3),
            # BLAS on one thread: labels are computed identically whatever the worker count.
            "env": {"PYTHONUNBUFFERED": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"},
        })
    return jobs


def _with_sample_time(entry: dict, job: dict) -> dict:
    entry.setdefault("timings", {})["sample_s"] = job["sample_s"]
    return entry


def _execute_local(run: _Run, jobs: list[dict], workers: int) -> None:
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


def _ray_resources(ray, opts: BatchOptions, config: Config) -> tuple[int, int]:
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


def _execute_ray(run: _Run, jobs: list[dict], opts: BatchOptions, ray) -> None:
    from ray import cloudpickle

    # run_job travels by value: Ray workers need not have `mayhem` importable, only Python.
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    remote = ray.remote(run_job)
    _, gpus = _ray_resources(ray, opts, run.plan.config)
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


def run_batch(plan: Plan, options: BatchOptions | None = None) -> dict:
    """Render the planned sequences that are not complete yet; returns the summary.

    Raises MayhemInputError before rendering anything for bad options, a changed config
    (unless options.force), an unreadable dataset.json or a folder locked by another driver.
    """
    opts = options or BatchOptions()
    _check_options(opts)
    t_start = time.perf_counter()
    out = plan.out_dir
    _check_out_dir(out)
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
    ray = _import_ray() if opts.executor == "ray" else None
    blender = opts.blender or _running_inside_blender()

    out.mkdir(parents=True, exist_ok=True)
    lock = _acquire_lock(out)
    try:
        if opts.overwrite:
            _clear_outputs(out)
        recover_stale(out)
        previous = {e["name"]: e for e in (doc or {}).get("sequences", []) if isinstance(e, dict) and "name" in e}
        planned = {r["name"] for r in plan.recipes}
        # Entries of sequences outside this plan (an earlier run asked for more) stay, unless
        # the config changed: then nothing says they still match it.
        entries = {} if changes else {k: v for k, v in previous.items() if k not in planned}
        todo, skipped, carried_failed = [], [], []
        for recipe, sample_s in zip(plan.recipes, plan.sample_s):
            name = recipe["name"]
            prev = previous.get(name)
            if sequence_complete(out, recipe):
                if not (prev and prev.get("status") == "done"):
                    prev = _read_json(str(out / STATE_DIR / "jobs" / f"{name}.result.json"))
                    if not (isinstance(prev, dict) and prev.get("status") == "done"):
                        prev = {"name": name, "index": int(recipe["index"]), "status": "done",
                                "frames": int(recipe["frames"]), "people": len(recipe["people"])}
                entries[name] = prev
                skipped.append(name)
            elif prev and prev.get("status") == "failed" and not opts.retry_failed and not changes:
                entries[name] = prev
                carried_failed.append(name)
            else:
                todo.append((recipe, sample_s))
        total_frames = sum(int(r["frames"]) for r, _ in todo)
        progress = BatchProgress(len(todo), total_frames, enabled=opts.progress and bool(todo))
        run = _Run(plan=plan, entries=entries, config_dict=config_dict, progress=progress)
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
                    threads, gpus = _ray_resources(ray, opts, plan.config)
                    executor_info.update(threads=threads, gpus_per_task=gpus)
                    jobs = _make_jobs(run, todo, threads, opts, blender)
                    progress.start = time.perf_counter()
                    progress.update(0, 0, 0)
                    _execute_ray(run, jobs, opts, ray)
                finally:
                    run.write(force=True)
                    if started_ray:
                        ray.shutdown()
            else:
                workers = min(opts.workers or 1, len(todo))
                cores = _cores()
                threads = plan.config.render.threads or max(1, cores // workers)
                if threads * workers > cores:
                    log.warning("%d worker(s) x %d render thread(s) exceed the %d core(s) of this machine",
                                workers, threads, cores)
                executor_info.update(workers=workers, threads=threads)
                jobs = _make_jobs(run, todo, threads, opts, blender)
                progress.start = time.perf_counter()
                progress.update(0, 0, 0)
                try:
                    _execute_local(run, jobs, workers)
                finally:
                    run.write(force=True)
            progress.update(run.done, run.failed, run.frames_done, final=True)
        run.write(force=True)
    finally:
        lock.close()

    wall = time.perf_counter() - t_start
    rendered = [run.entries[n] for n in (r["name"] for r, _ in todo) if n in run.entries]
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
    lines.append(f"wall time {_hms(wall)}, {summary['frames_per_hour']:.0f} frames/hour"
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
