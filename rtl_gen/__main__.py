"""`python -m rtl_gen [--config FILE] [--out DIR]`: write the accelerator's Verilog and manifest."""
from __future__ import annotations

import sys
from pathlib import Path

from hw_model.cli import add_config, config_path, parser
from hw_model.config import Accelerator
from hw_model.errors import cli_errors

from .emit import emit


@cli_errors
def main(argv=None) -> int:
    ap = parser("python -m rtl_gen", __doc__)
    add_config(ap)
    ap.add_argument("--out", default=None, help="output folder (default: out/rtl/<config name>)")
    args = ap.parse_args(argv)
    acc = Accelerator.load(config_path(args))
    out = Path(args.out) if args.out else Path("out/rtl") / acc.name
    manifest = emit(acc, out)
    for mod in manifest["modules"]:
        print(f"{out / mod['file']}  (chunk {mod['chunk']})")
    print(f"{out / manifest['top']['file']}  (every chunk, its own memory port)")
    print(f"{out / manifest['system']['file']}  (the top behind AXI, frames pipelined: what `make fpga` ships)")
    print(f"{out / 'manifest.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
