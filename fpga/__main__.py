"""`python -m fpga [--config FILE] [--target PART] [--out DIR] [--no-run]` (`make fpga CONFIG=... TARGET=...`):
the FPGA hand-off bundle (fpga/__init__.py lists what it holds)."""
from __future__ import annotations

import sys
from pathlib import Path

from hw_model.cli import add_config, config_path, parser
from hw_model.config import Accelerator
from hw_model.control import FRAME_LOG
from hw_model.errors import ConfigError, cli_errors
from hw_model.frame_program import DEFAULT_FRAMES

from . import __doc__ as BUNDLE_DOC
from .bundle import build_bundle
from .scripts import DEFAULT_SEED
from .target import DEFAULT_TARGET, parse_target


@cli_errors
def main(argv=None) -> int:
    ap = parser("python -m fpga", BUNDLE_DOC)
    add_config(ap)
    ap.add_argument("--target", default=DEFAULT_TARGET, help=f"FPGA part (default {DEFAULT_TARGET})")
    ap.add_argument("--out", default=None, help="bundle folder (default out/fpga/<config name>)")
    ap.add_argument("--no-run", action="store_true", help="write the bundle without running yosys/nextpnr")
    ap.add_argument("--frames", type=int, default=DEFAULT_FRAMES, help="frames of the program in mem/ (a run takes 1 to this "
                    "many; the test inputs there, one a frame)")
    ap.add_argument("--timeout", type=int, default=3600, help="seconds each tool may run (default 3600); the "
                    "bundle and the reports so far are kept when place-and-route runs out of it")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"nextpnr-ecp5's placement seed (default "
                    f"{DEFAULT_SEED}); placement, and with it Fmax and whether router2 converges, changes with it")
    a = ap.parse_args(argv)
    if not 0 <= a.seed < 2 ** 31:
        raise ConfigError("--seed", a.seed, "an integer from 0 to 2^31 - 1")
    if not 1 <= a.frames <= FRAME_LOG:
        raise ConfigError("--frames", a.frames, f"an integer from 1 to {FRAME_LOG}")
    if a.timeout < 1:
        raise ConfigError("--timeout", a.timeout, "a positive number of seconds")
    target = parse_target(a.target)
    cfg = config_path(a)
    acc = Accelerator.load(cfg)
    out = Path(a.out) if a.out else Path("out/fpga") / acc.name
    summary = build_bundle(cfg, target, out, run=not a.no_run, frames=a.frames, timeout=a.timeout, seed=a.seed)
    if "resources" in summary:
        print((out / "reports" / "resources.md").read_text())
    print(f"wrote {out}/ (README.md, rtl/, constraints/, vivado/, ecp5/, regmap/, mem/, host/, reports/)")
    ecp5 = summary.get("resources", {}).get("ecp5")
    if ecp5 and not ecp5["placed_and_routed"]:
        print(f"error: place-and-route on {ecp5['part']} failed: {ecp5.get('error')} (reports/nextpnr_ecp5.log)",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
