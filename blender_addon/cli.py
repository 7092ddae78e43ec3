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
    from .core.config import load_config
    from .services.generate import generate_dataset

    config = load_config(args.config)
    summary = generate_dataset(config, args.out, config_path=args.config, progress=not args.quiet)
    return 0 if summary["failed"] == 0 else 1


def _cmd_overlay(args) -> int:
    from .core.overlay import contact_sheet

    path = contact_sheet(args.dataset, args.out, max_frames=args.max_frames)
    print(path)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mayhem", description="BEDLAM-style synthetic human data in Blender")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="verb", required=True)

    gen = sub.add_parser("generate", help="render sequences and labels from a YAML config")
    gen.add_argument("config", help="YAML or JSON config (see assets/configs/)")
    gen.add_argument("--out", required=True, help="output dataset folder")
    gen.add_argument("--quiet", action="store_true", help="no progress bar")
    gen.set_defaults(func=_cmd_generate)

    ov = sub.add_parser("overlay", help="contact sheet of frames with joints, boxes and mask outlines")
    ov.add_argument("dataset", help="dataset folder written by `mayhem generate`")
    ov.add_argument("--out", default=None, help="PNG to write (default DATASET/contact_sheet.png)")
    ov.add_argument("--max-frames", type=int, default=16)
    ov.set_defaults(func=_cmd_overlay)

    # Parsed by core.export_bedlam.main (see main()); listed here for --help.
    sub.add_parser("export-bedlam", help="write BEDLAM training labels (.npz) for a dataset: DATASET --out FILE")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] == "export-bedlam":  # its own parser owns every option, -h included
        from .core import export_bedlam

        return export_bedlam.main(argv[1:])
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
