"""`python -m rtl_gen [--config FILE] [--out DIR]`: write the accelerator's Verilog and manifest."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hw_model.config import Accelerator
from hw_model.defaults import default_config_path
from hw_model.errors import cli_errors

from .emit import emit


@cli_errors
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m rtl_gen", description=__doc__)
    ap.add_argument("--config", default=None, help="accelerator JSON/YAML (default: out/best.json if a search "
                                                   "has run, else configs/default.json)")
    ap.add_argument("--out", default=None, help="output folder (default: out/rtl/<config name>)")
    args = ap.parse_args(argv)
    cfg = args.config or default_config_path()
    acc = Accelerator.load(cfg)
    out = Path(args.out) if args.out else Path("out/rtl") / acc.name
    manifest = emit(acc, out)
    for mod in manifest["modules"]:
        print(f"{out / mod['file']}  (chunk {mod['chunk']})")
    print(f"{out / 'manifest.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
