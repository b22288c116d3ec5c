"""The default configuration through the FPGA flow (`make fpga CONFIG=configs/default.json`: yosys synth_xilinx for
xc7 counts, synth_ecp5 + nextpnr-ecp5 on the LFE5U-85F out of context): routed Fmax and resources into
bench/results/fpga_default.json. About 30 minutes on two cores: `make bench-all` runs it, `make bench` does not.

`python -m bench.fpga [--seed N]`
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import tempfile
import time
from pathlib import Path

from fpga.bundle import build_bundle
from fpga.scripts import DEFAULT_SEED
from fpga.target import DEFAULT_TARGET, parse_target
from hw_model.config import Accelerator
from hw_model.defaults import DEFAULT_CONFIG
from hw_model.io import atomic_write_json

OUT = Path(__file__).parent / "results" / "fpga_default.json"


def summary(res: dict, acc: Accelerator, seed: int, commit: str, seconds: float) -> dict:
    e = res["ecp5"]
    cells = res["xc7"]["yosys_cells"]
    return {"config": acc.name, "clock_mhz": acc.clock_mhz,
            "ecp5": {"part": e["part"], "seed": seed, "fmax_mhz": next(iter(e.get("fmax_mhz", {}).values()), None),
                     "fmax_placed_estimate_mhz": next(iter(e.get("fmax_placed_estimate_mhz", {}).values()), None),
                     "utilization": e["utilization"], "available": e["available"]},
            "xc7_cells": {"DSP48E1": cells.get("DSP48E1", 0),
                          "BRAM18": cells.get("RAMB18E1", 0) + 2 * cells.get("RAMB36E1", 0),
                          "LUT": sum(v for k, v in cells.items() if re.fullmatch(r"LUT[1-6]", k)),
                          "FF": sum(v for k, v in cells.items() if re.fullmatch(r"FD[RSCEP]+E?", k))},
            "measured": f"`python -m bench.fpga` at {commit}, {seconds / 60:.0f} min"}


def main() -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.fpga", description=__doc__)
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    a = ap.parse_args()
    acc = Accelerator.load(DEFAULT_CONFIG)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    t0 = time.time()
    with tempfile.TemporaryDirectory(prefix="trips_bench_fpga_") as tmp:
        res = build_bundle(Path(DEFAULT_CONFIG), parse_target(DEFAULT_TARGET), Path(tmp) / "default",
                           seed=a.seed)["resources"]
    out = summary(res, acc, a.seed, commit, time.time() - t0)
    atomic_write_json(OUT, out)
    print(json.dumps(out["ecp5"], indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
