"""Batch generation: plan on the driver, render each sequence in its own process, resume safely.

plan.py samples every recipe up front (no Blender); job.py runs one sequence in a fresh worker
process; executors.py decides where those processes run (local threads or Ray tasks);
driver.py ties them together with resume and dataset.json. See docs/batch.md.
"""
from __future__ import annotations

from .driver import format_summary, generate, run_batch
from .options import EXECUTORS, BatchOptions
from .plan import Plan, config_changes, plan_batch

__all__ = ["EXECUTORS", "BatchOptions", "Plan", "config_changes", "format_summary", "generate", "plan_batch",
           "run_batch"]
