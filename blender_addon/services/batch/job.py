"""One sequence in its own worker process (services/worker.py: bpy in a subprocess of this
Python, or a `blender -b` binary): memory stays flat over thousands of sequences and a crash
costs one sequence. run_job is the same for every executor."""
from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

log = logging.getLogger("mayhem.batch")

STATE_DIR = ".mayhem"          # driver state: lock, job recipes, worker results
LOG_DIR = "logs"               # one log per sequence: the worker's stdout and stderr
WORKER_SCRIPT = str(Path(__file__).resolve().parents[1] / "worker.py")


# This module uses the standard library only: Ray ships `run_job` (and so this module)
# to its workers by value, and they may not have `mayhem` importable.
def _write_text_atomic(path: str, text: str) -> None:
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def read_json(path: str):
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
    for name, folder in sorted((job.get("roots") or {}).items()):
        args += ["--root", f"{name}={folder}"]
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

    job: name, index, frames, people, recipe_text, roots, out_dir, threads, retries, worker_script,
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
        result = read_json(result_path)
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
