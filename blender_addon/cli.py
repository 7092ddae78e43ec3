"""The `mayhem` command line: one verb per job, each a thin layer over a service function.

Bad input (config, model, motion, scene file) ends with one line naming the file and field
and exit status 2; anything else that goes wrong is a bug and keeps its traceback.
"""
from __future__ import annotations

import argparse
import logging
import sys

from .core.errors import MayhemInputError

EXIT_BAD_INPUT = 2


def _cmd_generate(args) -> int:
    import dataclasses

    from .core.config import load_config
    from .services.batch import BatchOptions, format_summary, generate

    config = load_config(args.config)
    if args.sequences is not None:
        if args.sequences < 1:
            raise MayhemInputError(None, "--sequences", f"must be >= 1, got {args.sequences}")
        config = dataclasses.replace(config, sequences=args.sequences)
    options = BatchOptions(workers=args.workers, executor=args.executor, address=args.address,
                           overwrite=args.overwrite, force=args.force, retry_failed=args.retry_failed,
                           blender=args.blender, retries=args.retries, progress=not args.quiet)
    try:
        summary = generate(config, args.out, options, config_path=args.config)
    except KeyboardInterrupt:
        print("mayhem: interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    print(format_summary(summary), file=sys.stderr)
    return 0 if summary["failed"] == 0 else 1


def _cmd_prepare_scene(args) -> int:
    from .scene.world.environment import prepare_scene  # needs bpy

    for f in args.files:
        out, env = prepare_scene(f, use_cache=args.cache, cell=args.cell)
        print(f"{out}: walkable floor {env.walkable_area_m2:.1f} m^2 at z = {env.ground_z:.2f} m")
    return 0


def _cmd_overlay(args) -> int:
    from .core.dataset.overlay import contact_sheet

    path = contact_sheet(args.dataset, args.out, max_frames=args.max_frames)
    print(path)
    return 0


def _cmd_preview_video(args) -> int:
    from .services.preview import preview_videos  # needs bpy (Blender's FFmpeg writer)

    for path in preview_videos(args.dataset, args.out, sequences=args.sequence, fps=args.fps):
        print(path)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mayhem", description="BEDLAM-style synthetic human data in Blender")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="verb", required=True)

    gen = sub.add_parser(
        "generate", help="render sequences and labels from a YAML config",
        description="Render sequences and labels from a YAML config. Each sequence renders in its own "
                    "process; re-running the same command resumes (complete sequences are skipped). "
                    "Exit status: 0 all done, 1 some sequence failed, 2 bad input (nothing rendered).")
    gen.add_argument("config", help="YAML or JSON config (see assets/configs/)")
    gen.add_argument("--out", required=True, help="output dataset folder")
    gen.add_argument("--sequences", type=int, default=None, metavar="N",
                     help="number of sequences (overrides the config's `sequences`; raising it extends a dataset)")
    gen.add_argument("--workers", type=int, default=None, metavar="K",
                     help="renders in parallel (local: on this machine, default 1; ray: per node); "
                          "render threads = cores / K unless render.threads is set")
    gen.add_argument("--executor", choices=("local", "ray"), default="local",
                     help="local processes (default) or Ray tasks (pip install 'mayhem-synth[ray]')")
    gen.add_argument("--address", default=None, help="ray: address of an existing cluster (e.g. auto, HOST:6379)")
    gen.add_argument("--overwrite", action="store_true", help="delete this folder's previous outputs and start over")
    gen.add_argument("--force", action="store_true",
                     help="accept a config that differs from the dataset's; re-renders the sequences it changes")
    gen.add_argument("--retry-failed", action="store_true", help="rerun sequences recorded as failed")
    gen.add_argument("--retries", type=int, default=1, metavar="R",
                     help="restarts of a worker process that crashed (default 1)")
    gen.add_argument("--blender", default=None, metavar="PATH",
                     help="render with this Blender binary (blender -b) instead of the bpy module of this Python")
    gen.add_argument("--quiet", action="store_true", help="no progress bar")
    gen.set_defaults(func=_cmd_generate)

    ps = sub.add_parser("prepare-scene", help="summarise 3D scene files' walkable floor for placement (runs Blender)")
    ps.add_argument("files", nargs="+", help=".blend/.gltf/.glb/.fbx/.usd scene files")
    ps.add_argument("--cache", action="store_true", help="write the summary to the cache folder, not beside the file")
    ps.add_argument("--cell", type=float, default=0.1, help="floor grid cell, metres")
    ps.set_defaults(func=_cmd_prepare_scene)

    ov = sub.add_parser("overlay", help="contact sheet of frames with joints, boxes and mask outlines")
    ov.add_argument("dataset", help="dataset folder written by `mayhem generate`")
    ov.add_argument("--out", default=None, help="PNG to write (default DATASET/contact_sheet.png)")
    ov.add_argument("--max-frames", type=int, default=16)
    ov.set_defaults(func=_cmd_overlay)

    pv = sub.add_parser("preview-video", help="per-sequence MP4 of the frames with the overlay drawn on (runs Blender)")
    pv.add_argument("dataset", help="dataset folder written by `mayhem generate`")
    pv.add_argument("--out", default=None, help="folder for <sequence>.mp4 (default DATASET/previews)")
    pv.add_argument("--sequence", action="append", default=None, metavar="N",
                    help="sequence name or index (repeat; default: every completed sequence)")
    pv.add_argument("--fps", type=float, default=None, help="frame rate (default: the sequence's fps)")
    pv.set_defaults(func=_cmd_preview_video)

    # Parsed by core.export.bedlam.main (see main()); listed here for --help.
    sub.add_parser("export-bedlam", help="write BEDLAM training labels (.npz) for a dataset: DATASET --out FILE")
    sub.add_parser("export-humandata",
                   help="write MMHuman3D HumanData (.npz, SMPLer-X/AiOS) for a dataset: DATASET --out FILE")
    sub.add_parser("export-coco", help="write COCO person keypoints JSON with RLE masks: DATASET --out FILE.json")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] == "export-bedlam":  # its own parser owns every option, -h included
        from .core.export import bedlam as export_bedlam

        return export_bedlam.main(argv[1:])
    if argv and argv[0] == "export-humandata":  # likewise
        from .core.export import humandata as export_humandata

        return export_humandata.main(argv[1:])
    if argv and argv[0] == "export-coco":  # likewise
        from .core.export import coco as export_coco

        return export_coco.main(argv[1:])
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(message)s")
    try:
        return args.func(args)
    except MayhemInputError as exc:
        print(f"mayhem: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT


def run_verb(verb: str, argv: list[str]) -> int:
    """Entry for `python -m headless.<verb>` and `blender -b -P headless/<verb>.py -- ...`."""
    return main([verb, *argv])
