"""What every command line of the toolkit shares: the parser (bad options are one line, exit 2), `--config` with
the obvious default, and loading it (python -m rtl_gen, sim, fpga, search)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .config import Accelerator
from .defaults import default_config_path
from .io import load_data

CONFIG_HELP = "accelerator JSON/YAML or a search result (default: out/best.json if a search has run, else " \
              "configs/default.json)"


class Parser(argparse.ArgumentParser):
    """argparse whose errors are one line on stderr and exit 2, as the toolkit's other bad-input errors."""

    def error(self, message: str):
        print(f"error: {self.prog}: {message}", file=sys.stderr)
        sys.exit(2)


def parser(prog: str, doc: str | None) -> Parser:
    ap = Parser(prog=prog, description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--debug", action="store_true", help="a traceback instead of the one-line error")
    return ap


def add_config(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--config", default=None, help=CONFIG_HELP)


def config_path(args) -> Path:
    return Path(args.config) if args.config else default_config_path()


def load_config(args) -> tuple[Path, Accelerator, object]:
    """(path, accelerator, the file as read) of --config."""
    path = config_path(args)
    acc = Accelerator.load(path)
    return path, acc, load_data(path)
