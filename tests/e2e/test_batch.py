"""Batch generation: one fresh process per sequence, resume after kill -9, failures that stay
with their own sequence, and byte-identical outputs whatever the worker count or executor.

Tiny renders (96x54, 2 frames, 2 samples, no denoising, 1 free-body person) over a synthetic
AMASS folder of two clips; the reference dataset is rendered once per module.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from mayhem.core.config import config_from_dict
from mayhem.core.dataset.documents import sequence_complete
from mayhem.core.errors import MayhemInputError
from mayhem.core.motion.amass import MotionClip, save_amass_smplx
from mayhem.core.recipe import AssetCache, sample_recipe
from mayhem.core.recipe_types import recipe_from_json
from mayhem.services.batch import BatchOptions, config_changes, plan_batch, run_batch

ROOT = Path(__file__).resolve().parents[2]
N = 2


def _clip(kind: str) -> MotionClip:
    F = 12
    t = np.arange(F) / 30.0
    body = np.zeros((F, 63))
    body[:, 15 * 3 + 2] = -1.2  # arms lowered
    body[:, 16 * 3 + 2] = 1.2
    if kind == "walk":
        body[:, 0] = 0.3 * np.sin(2 * np.pi * t)
        body[:, 3] = -0.3 * np.sin(2 * np.pi * t)
        transl = np.stack([np.zeros(F), -0.8 * t, np.full(F, 0.95)], 1)
    else:  # sway in place
        body[:, 2 * 3 + 1] = 0.2 * np.sin(2 * np.pi * t)
        transl = np.stack([0.05 * np.sin(2 * np.pi * t), np.zeros(F), np.full(F, 0.95)], 1)
    return MotionClip(
        global_orient=np.tile([np.pi / 2, 0, 0], (F, 1)), body_pose=body,
        jaw_pose=np.zeros((F, 3)), leye_pose=np.zeros((F, 3)), reye_pose=np.zeros((F, 3)),
        left_hand_pose=np.zeros((F, 45)), right_hand_pose=np.zeros((F, 45)), transl=transl,
        betas=np.zeros(16), expression=None, gender="neutral", fps=30.0, source="test", source_format="smplx")


def _write_motions(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    save_amass_smplx(_clip("walk"), folder / "walk.npz")
    save_amass_smplx(_clip("sway"), folder / "sway.npz")
    return folder


def _config_dict(motion_folder, seed):
    return {"seed": seed, "sequences": N, "frames": 2, "body": {"model": "free"},
            "motion": {"source": str(motion_folder)}, "people": {"count": [1, 1]},
            "camera": {"resolution": [96, 54], "focal_mm": [35, 35]},
            "render": {"samples": 2, "denoise": False},
            # Simulated clothing, kept cheap: resumes must see scene.json's outcome as the recipe's.
            "clothing": {"texture_probability": 0.0, "garment_vertices": 300, "preroll_frames": 3,
                         "settle_frames": 1}}


def _motions_used(config) -> list[str]:
    cache = AssetCache()
    return [Path(sample_recipe(config, i, cache=cache).people[0].motion.ref.partition(":")[2]).name for i in range(N)]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """Motion folder, a seed whose sequences use both clips (sway.npz not by all), and the
    reference dataset rendered with one local worker."""
    base = tmp_path_factory.mktemp("batch")
    motions = _write_motions(base / "amass")
    for seed in range(50):
        used = _motions_used(config_from_dict(_config_dict(motions, seed)))
        if "sway.npz" in used and "walk.npz" in used:
            break
    else:
        pytest.fail("no seed in 0..49 draws both clips")
    data = _config_dict(motions, seed)
    cfg_file = base / "config.json"
    cfg_file.write_text(json.dumps(data))
    ref = base / "reference"
    summary = run_batch(plan_batch(config_from_dict(data), ref), BatchOptions(workers=1, progress=False))
    assert summary["done"] == N and summary["failed"] == 0, summary
    return {"base": base, "motions": motions, "data": data, "cfg_file": cfg_file, "ref": ref, "used": used}


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def assert_same_sequences(a: Path, b: Path, names=None, skip=()):
    names = names or [f"seq_{i:06d}" for i in range(N)]
    for name in names:
        fa, fb = _files(a / name), _files(b / name)
        fa = {k: v for k, v in fa.items() if k not in skip}
        fb = {k: v for k, v in fb.items() if k not in skip}
        assert sorted(fa) == sorted(fb), name
        for rel in fa:
            assert fa[rel] == fb[rel], f"{name}/{rel} differs"


def assert_nothing_partial(out: Path):
    hidden = [p.name for p in out.iterdir() if p.name.startswith(".seq_")]
    assert not hidden, hidden
    doc = json.loads((out / "dataset.json").read_text())
    for e in doc["sequences"]:
        assert (e["status"] == "done") == (out / e["name"]).is_dir(), e


def _worker_pids(out: Path, name: str = "", started_by_driver: bool = False) -> list[int]:
    """Processes rendering into `out` (optionally one sequence), from /proc.

    A process a worker forks (a subprocess between fork and exec) shows the worker's command
    line too; started_by_driver leaves those out, keeping the workers the driver started."""
    needle = str(out.resolve() / ".mayhem" / "jobs" / name).encode()
    parents = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            cmd = (d / "cmdline").read_bytes()
            ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if needle in cmd and b"worker" in cmd:
            parents[int(d.name)] = ppid
    return [pid for pid, ppid in parents.items() if not (started_by_driver and ppid in parents)]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _cli(*args, **kw):
    return subprocess.run([sys.executable, "-m", "headless.generate", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600, **kw)


def _table(stderr: str) -> dict:
    """The summary table's rows: {label: [sequences, frames]}."""
    rows = [ln.split() for ln in stderr.splitlines()]
    return {r[0]: [int(r[1]), int(r[2])] for r in rows if len(r) == 3 and r[0] in ("rendered", "failed", "skipped")}


# ----------------------------------------------------------------------------------- tests
def test_reference_layout(setup):
    ref = setup["ref"]
    doc = json.loads((ref / "dataset.json").read_text())
    assert [e["name"] for e in doc["sequences"]] == [f"seq_{i:06d}" for i in range(N)]
    for e in doc["sequences"]:
        assert e["status"] == "done" and e["attempts"] == 1 and e["frames"] == 2
        assert e["log"] == f"logs/{e['name']}.log" and "rendered" in (ref / e["log"]).read_text()
        assert e["peak_rss_mb"] > 50
        assert {"sample_s", "startup_s", "build_s", "render_s", "labels_s", "worker_s", "cpu_s"} <= set(e["timings"])
        assert 0 < e["timings"]["cpu_s"]
        assert not (ref / ".mayhem" / "jobs" / f"{e['name']}.json").exists()  # scene.json holds the recipe
        assert sequence_complete(ref, recipe_from_json(json.loads((ref / e["name"] / "scene.json").read_text())))
    assert_nothing_partial(ref)


def test_two_workers_identical_to_one(setup, tmp_path):
    out = tmp_path / "two"
    summary = run_batch(plan_batch(config_from_dict(setup["data"]), out), BatchOptions(workers=2, progress=False))
    assert summary["done"] == N and summary["workers"] == 2 and summary["threads"] >= 1
    assert_same_sequences(setup["ref"], out)
    assert_nothing_partial(out)


def test_rerun_skips_complete_and_overwrite_starts_over(setup, tmp_path):
    out = tmp_path / "copy"
    shutil.copytree(setup["ref"], out)
    config = config_from_dict(setup["data"])
    before = (out / "seq_000000" / "labels.npz").stat().st_mtime_ns
    summary = run_batch(plan_batch(config, out), BatchOptions(progress=False))
    assert (summary["done"], summary["skipped"], summary["failed"]) == (0, N, 0)
    assert (out / "seq_000000" / "labels.npz").stat().st_mtime_ns == before
    # A stale sequence (scene.json no longer the recipe) is not complete: it is rendered again.
    scene = out / "seq_000001" / "scene.json"
    scene.write_text(scene.read_text().replace('"frames": 2', '"frames": 3'))
    summary = run_batch(plan_batch(config, out, indices=[1]), BatchOptions(progress=False))
    assert (summary["done"], summary["skipped"]) == (1, 0)
    assert_same_sequences(setup["ref"], out, ["seq_000001"])
    # --overwrite: previous outputs go, only the planned sequence is rendered again.
    summary = run_batch(plan_batch(config, out, indices=[0]), BatchOptions(overwrite=True, progress=False))
    assert (summary["done"], summary["skipped"]) == (1, 0)
    assert not (out / "seq_000001").exists() and not (out / "logs" / "seq_000001.log").exists()
    assert [e["name"] for e in json.loads((out / "dataset.json").read_text())["sequences"]] == ["seq_000000"]
    assert_same_sequences(setup["ref"], out, ["seq_000000"])


def test_kill_driver_mid_run_then_resume_is_byte_identical(setup, tmp_path):
    """kill -9 of the driver while it renders sequence 1: its worker dies with it, nothing
    partial is visible, and the same command finishes the dataset exactly as an uninterrupted
    run would have."""
    out = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "headless.generate", str(setup["cfg_file"]), "--out", str(out),
                             "--workers", "1", "--quiet"], cwd=ROOT, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 300
        while not ((out / "seq_000000").is_dir() and (out / ".seq_000001.partial").is_dir()):
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.time() < deadline, "no second sequence started"
            time.sleep(0.05)
        workers = _worker_pids(out, "seq_000001")
        assert workers
        os.kill(proc.pid, signal.SIGKILL)  # the driver only: its worker must not outlive it
        proc.wait(timeout=30)
        deadline = time.time() + 20
        while any(_alive(p) for p in workers):
            assert time.time() < deadline, "worker survived its driver"
            time.sleep(0.05)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.stderr.close()
    # What a reader sees now: only complete sequences, and dataset.json lists no other.
    visible = sorted(p.name for p in out.iterdir() if p.name.startswith("seq_"))
    assert visible == ["seq_000000"]
    doc = json.loads((out / "dataset.json").read_text())
    assert all(e["status"] == "done" and (out / e["name"]).is_dir() for e in doc["sequences"])
    recipe0 = recipe_from_json(json.loads((setup["ref"] / "seq_000000" / "scene.json").read_text()))
    assert sequence_complete(out, recipe0)

    res = _cli(setup["cfg_file"], "--out", out, "--workers", "1", "--quiet")
    assert res.returncode == 0, res.stderr
    assert _table(res.stderr) == {"rendered": [N - 1, 2 * (N - 1)], "failed": [0, 0], "skipped": [1, 2]}
    assert_same_sequences(setup["ref"], out)
    assert_nothing_partial(out)

    # The same folder with a changed config: refused (exit 2) naming the field, nothing rendered.
    changed = dict(setup["data"], render={"samples": 3, "denoise": False})
    cfg2 = tmp_path / "changed.json"
    cfg2.write_text(json.dumps(changed))
    res = _cli(cfg2, "--out", out, "--quiet")
    assert res.returncode == 2
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "render.samples (2 -> 3)" in lines[0] and "--force" in lines[0], lines
    assert_same_sequences(setup["ref"], out)
    # --force keeps the dataset and re-renders what the change affects (here only sequence 0 is
    # planned); dataset.json records the new config and drops entries it cannot vouch for.
    res = _cli(cfg2, "--out", out, "--quiet", "--force", "--sequences", 1)
    assert res.returncode == 0, res.stderr
    assert _table(res.stderr) == {"rendered": [1, 2], "failed": [0, 0], "skipped": [0, 0]}
    assert json.loads((out / "seq_000000" / "scene.json").read_text())["render"]["samples"] == 3
    doc = json.loads((out / "dataset.json").read_text())
    assert doc["config"]["render"]["samples"] == 3 and [e["name"] for e in doc["sequences"]] == ["seq_000000"]


def test_corrupt_motion_fails_only_its_own_sequences(setup, tmp_path):
    """A motion file found corrupt by the worker (it changed after the driver sampled the
    recipes) fails the sequences that use it; the others render; --retry-failed redoes them."""
    motions = _write_motions(tmp_path / "amass")
    data = dict(setup["data"], motion={"source": str(motions)})
    config = config_from_dict(data)
    out = tmp_path / "out"
    plan = plan_batch(config, out)
    good = (motions / "sway.npz").read_bytes()
    (motions / "sway.npz").write_bytes(b"PK\x03\x04 truncated by a dying NFS server")
    bad = [f"seq_{i:06d}" for i, m in enumerate(setup["used"]) if m == "sway.npz"]
    ok = [f"seq_{i:06d}" for i, m in enumerate(setup["used"]) if m != "sway.npz"]
    summary = run_batch(plan, BatchOptions(workers=2, progress=False))
    assert summary["failed_names"] == bad and summary["done"] == len(ok)
    entries = {e["name"]: e for e in json.loads((out / "dataset.json").read_text())["sequences"]}
    for name in bad:
        e = entries[name]
        assert e["status"] == "failed" and e["attempts"] == 1  # an error is not retried
        assert "MayhemInputError" in e["error"] and "sway.npz" in e["error"], e["error"]
        assert "Traceback" in (out / e["log"]).read_text()
        assert not (out / name).exists()
    assert_nothing_partial(out)
    # Same outputs as the reference (scene.json differs: it names this test's motion folder).
    assert_same_sequences(setup["ref"], out, ok, skip={"scene.json"})

    # (Sampling again with the file still corrupt is bad input, found before any rendering.)
    with pytest.raises(MayhemInputError, match="sway.npz"):
        plan_batch(config, out)
    (motions / "sway.npz").write_bytes(good)
    # Re-running without --retry-failed keeps the failures (exit status would stay 1).
    summary = run_batch(plan_batch(config, out), BatchOptions(progress=False))
    assert (summary["done"], summary["failed"], summary["skipped"]) == (0, len(bad), len(ok))
    summary = run_batch(plan_batch(config, out), BatchOptions(retry_failed=True, progress=False))
    assert (summary["done"], summary["failed"], summary["skipped"]) == (len(bad), 0, len(ok))
    assert_same_sequences(setup["ref"], out, skip={"scene.json"})
    assert_nothing_partial(out)


def test_worker_killed_is_retried_then_recorded_failed(setup, tmp_path):
    """kill -9 of a worker (a Blender crash): restarted up to --retries, then recorded as
    failed with the signal, never leaving a partial sequence; --retry-failed renders it."""
    out = tmp_path / "crash"
    config = config_from_dict(setup["data"])
    plan = plan_batch(config, out, indices=[1])
    kills = []

    def killer():
        deadline = time.time() + 300
        while len(kills) < 2 and time.time() < deadline:
            if (out / ".seq_000001.partial").is_dir():
                for pid in _worker_pids(out, "seq_000001", started_by_driver=True):
                    if pid not in kills:
                        os.kill(pid, signal.SIGKILL)
                        kills.append(pid)
            time.sleep(0.02)

    t = threading.Thread(target=killer)
    t.start()
    summary = run_batch(plan, BatchOptions(retries=1, progress=False))
    t.join()
    assert len(kills) == 2
    assert summary["failed_names"] == ["seq_000001"]
    (entry,) = json.loads((out / "dataset.json").read_text())["sequences"]
    assert entry["attempts"] == 2 and "signal 9 (SIGKILL)" in entry["error"]
    assert (out / entry["log"]).read_text().count("attempt") >= 4
    assert_nothing_partial(out)

    res = _cli(setup["cfg_file"], "--out", out, "--quiet", "--sequences", 2)  # seq 0 is new, seq 1 failed
    assert res.returncode == 1 and "seq_000001" in res.stderr
    summary = run_batch(plan, BatchOptions(retry_failed=True, progress=False))
    assert (summary["done"], summary["failed"]) == (1, 0)
    assert_same_sequences(setup["ref"], out, ["seq_000000", "seq_000001"])
    assert_nothing_partial(out)


def test_ray_identical_to_local(setup, tmp_path):
    ray = pytest.importorskip("ray", reason="ray is not installed (pip install 'mayhem-synth[ray]')")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        out = tmp_path / "ray"
        summary = run_batch(plan_batch(config_from_dict(setup["data"]), out),
                            BatchOptions(executor="ray", workers=2, progress=False))
    finally:
        ray.shutdown()
    assert summary["done"] == N and summary["executor"] == "ray" and summary["threads"] == 1, summary
    assert_same_sequences(setup["ref"], out)
    assert_nothing_partial(out)


def test_blender_binary_worker(setup, tmp_path):
    """--blender PATH runs `PATH -b --factory-startup ... -P worker.py -- ARGS`. No Blender binary
    here, so PATH is a stand-in that runs the script the way Blender does (argv kept whole,
    __name__ == '__main__', no package context) in this Python with bpy."""
    fake = tmp_path / "blender"
    fake.write_text(f"""#!{sys.executable}
import runpy, sys
args = sys.argv[1:]
assert args[:2] == ["-b", "--factory-startup"] and "--" in args, args
runpy.run_path(args[args.index("-P") + 1], run_name="__main__")
""")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    out = tmp_path / "bin"
    summary = run_batch(plan_batch(config_from_dict(setup["data"]), out, indices=[0]),
                        BatchOptions(blender=str(fake), progress=False))
    assert summary["done"] == 1, summary
    assert "-P" in (out / "logs" / "seq_000000.log").read_text().splitlines()[0]
    assert_same_sequences(setup["ref"], out, ["seq_000000"])


def test_config_changes_and_bad_options(tmp_path):
    old = {"seed": 0, "sequences": 10, "render": {"samples": 4, "device": "auto"}, "camera": {"focal_mm": [35, 50]}}
    new = {"seed": 0, "sequences": 20, "render": {"samples": 8, "device": "auto"}, "camera": {"focal_mm": [35, 55]}}
    assert config_changes(old, new) == ["camera.focal_mm ([35, 50] -> [35, 55])", "render.samples (4 -> 8)"]
    assert config_changes(old, dict(old, sequences=3)) == []
    plan = plan_batch(config_from_dict({"frames": 1}), tmp_path / "x", indices=[])
    for opts, field in ((BatchOptions(workers=0), "--workers"), (BatchOptions(executor="slurm"), "--executor"),
                        (BatchOptions(blender=str(tmp_path / "nope")), "--blender")):
        with pytest.raises(MayhemInputError, match=field):
            run_batch(plan, opts)
    assert not (tmp_path / "x").exists()


def test_ray_resource_requests():
    """CPUs per task (= render threads) and GPUs per task from the cluster's smallest node."""
    from mayhem.services.batch.executors import ray_resources as _ray_resources

    class Cluster:  # the shape of ray.nodes(): only what _ray_resources reads
        def __init__(self, *nodes):
            self._nodes = [{"Alive": True, "Resources": r} for r in nodes] + [{"Alive": False, "Resources": {"CPU": 1}}]

        def nodes(self):
            return self._nodes

    gpu_cluster = Cluster({"CPU": 16.0, "GPU": 4.0}, {"CPU": 8.0, "GPU": 2.0})
    cfg = lambda **render: config_from_dict({"render": render})  # noqa: E731
    assert _ray_resources(gpu_cluster, BatchOptions(), cfg(device="auto")) == (4, 1)   # 2 GPUs/node -> 8 // 2
    assert _ray_resources(gpu_cluster, BatchOptions(), cfg(device="cpu")) == (8, 0)
    assert _ray_resources(gpu_cluster, BatchOptions(workers=4), cfg(device="cpu")) == (2, 0)
    assert _ray_resources(gpu_cluster, BatchOptions(), cfg(device="cpu", threads=3)) == (3, 0)
    cpu_cluster = Cluster({"CPU": 2.0})
    assert _ray_resources(cpu_cluster, BatchOptions(), cfg(device="auto")) == (2, 0)
    assert _ray_resources(cpu_cluster, BatchOptions(), cfg(device="optix")) == (2, 1)  # Ray will wait for a GPU
    with pytest.raises(MayhemInputError, match="no node with CPUs"):
        _ray_resources(Cluster(), BatchOptions(), cfg())


def test_summary_splits_cloth_simulation_from_overhead():
    from mayhem.services.batch import format_summary

    summary = {"frames": {"done": 8, "failed": 0, "skipped": 0}, "done": 1, "failed": 0, "skipped": 0,
               "wall_s": 27.0, "render_s": 13.9, "cloth_s": 10.2, "worker_s": 27.7, "frames_per_hour": 1067.0,
               "sample_s": 0.3, "failed_names": [], "out_dir": "out"}
    text = format_summary(summary)
    assert "cloth simulation 10.2 s (37 %)" in text and "overhead 3.6 s (13 %" in text
    assert "cloth simulation" not in format_summary({**summary, "cloth_s": 0.0})
