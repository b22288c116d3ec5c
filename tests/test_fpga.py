"""The FPGA hand-off bundle (the fpga package) without the tools: every file there and consistent with the config
and hw_model; a bad TARGET is one line, exit 2, and nothing left under the output folder. (The yosys/nextpnr
runs take minutes: `make fpga` does them, their numbers are in the README.)"""
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from hw_model.config import Accelerator
from hw_model.control import CONTROL
from hw_model.defaults import DEFAULT_CONFIG
from rtl_gen.frames import frames_module_name
from fpga.bundle import build_bundle
from fpga.scripts import DEFAULT_SEED
from fpga.target import parse_target
from driver import load_program

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    out = tmp_path_factory.mktemp("fpga") / "default"
    build_bundle(Path(DEFAULT_CONFIG), parse_target("LFE5U-85F-8BG381C"), out, run=False, frames=2,
                 progress=lambda *_: None)
    return out


def test_bundle_files_follow_the_config(bundle):
    acc = Accelerator.load(DEFAULT_CONFIG)
    top = frames_module_name(acc.name)
    assert (bundle / "rtl" / f"{top}.v").read_text().count(f"module {top}(") == 1
    assert (bundle / "rtl" / "files.f").read_text().split() == [f"{top}.v"]
    period = float(re.search(r"-period ([\d.]+)", (bundle / "constraints" / f"{top}.xdc").read_text()).group(1))
    assert period == pytest.approx(1000 / acc.clock_mhz, abs=1e-3)
    assert f'FREQUENCY PORT "clk" {acc.clock_mhz:g} MHz;' in (bundle / "constraints" / f"{top}.lpf").read_text()
    tcl = (bundle / "vivado" / "build.tcl").read_text()
    assert f"set top {top}" in tcl and "ipx::package_project" in tcl and "write_bitstream" in tcl
    # every chunk's master packaged as a bus interface and connected to the memory
    for i in range(len(acc.chunks)):
        assert f"-busif m{i}_axi -clock clk" in tcl and f"accel/m{i}_axi]" in tcl
    assert f"m{len(acc.chunks)}_axi" not in tcl
    sh = (bundle / "ecp5" / "build.sh").read_text()
    assert "--85k --package CABGA381 --speed 8" in sh and "--out-of-context" in sh
    assert f"--seed {DEFAULT_SEED}" in sh            # the flow's placement seed, unless told
    assert {p.name for p in (bundle / "regmap").iterdir()} == {"default_regs.md", "default_regs.h", "default_regs.py"}
    readme = (bundle / "README.md").read_text()
    assert all(f"| {r.name} | 0x{r.offset:02X} |" in readme for r in CONTROL)


def test_bundle_memory_images_are_the_driver_program(bundle):
    prog = load_program(bundle / "mem" / "program.json")
    static = {}
    for line in (bundle / "mem" / "static.hex").read_text().split("\n"):
        if line:
            a, w = line.split()
            static[int(a[1:], 16)] = int(w, 16)
    assert static == prog["static"] and max(static) < prog["window_beats"]
    inputs = sorted((bundle / "mem").glob("input_*.hex"))
    assert len(inputs) == 2 and len(json.loads((bundle / "mem" / "expected_logits.json").read_text())) == 2
    # frame i's input in copy i of the input tensor, each copy a whole packed image
    inp = prog["input"]
    firsts = [int(f.read_text().split()[0][1:], 16) for f in inputs]
    assert firsts == [inp["base"], inp["base"] + inp["stride"]] and prog["frames"] == 2
    size = inp["size"][0] * inp["size"][1] * -(-inp["channels"] // (prog["bus_bits"] // inp["bits"]))
    assert inp["stride"] == size == len(inputs[0].read_text().split("\n")) - 1
    assert inp["base"] + 2 * inp["stride"] <= prog["table_addr"] < prog["window_beats"]


def test_bad_target_is_one_line_and_writes_nothing(tmp_path):
    out = tmp_path / "b"
    r = subprocess.run([sys.executable, "-m", "fpga", "--config", str(DEFAULT_CONFIG), "--target",
                        "xc9z999", "--out", str(out), "--no-run"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 2 and "TARGET" in r.stderr and r.stderr.count("\n") == 1, r.stderr
    assert not out.exists() and not list(tmp_path.glob(".b.*"))


def test_a_tool_out_of_time_is_one_line_and_writes_nothing(tmp_path):
    out = tmp_path / "b"
    r = subprocess.run([sys.executable, "-m", "fpga", "--config", str(DEFAULT_CONFIG), "--out", str(out),
                        "--timeout", "1"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 2 and "--timeout" in r.stderr and "yosys" in r.stderr and r.stderr.count("\n") == 1, \
        r.stderr
    assert not out.exists() and not list(tmp_path.glob(".b.*"))


def test_placement_seed_reaches_nextpnr_and_a_bad_one_is_one_line(tmp_path):
    from fpga.scripts import ecp5_commands
    acc, target = Accelerator.load(DEFAULT_CONFIG), parse_target("LFE5U-85F-8BG381C")
    _, plain = ecp5_commands(acc, "top", target)
    _, seeded = ecp5_commands(acc, "top", target, seed=7)
    assert "--seed" not in plain and seeded[seeded.index("--seed") + 1] == "7"
    out = tmp_path / "b"
    r = subprocess.run([sys.executable, "-m", "fpga", "--config", str(DEFAULT_CONFIG), "--seed", "-1",
                        "--out", str(out), "--no-run"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 2 and "--seed" in r.stderr and r.stderr.count("\n") == 1, r.stderr
    assert not out.exists() and not list(tmp_path.glob(".b.*"))


def test_the_report_gives_the_frame_rate_at_the_routed_fmax_and_says_when_it_is_below_the_clock():
    from fpga.reports import resource_table
    acc = Accelerator.load(DEFAULT_CONFIG)
    routed = lambda mhz: {"part": "LFE5U-85F-8BG381C", "utilization": {}, "available": {}, "fits": True,
                          "fmax_mhz": {"clk": mhz}}
    table, md = resource_table(acc, routed(acc.clock_mhz * 0.9), None, period_cycles=5000)
    c = table["clock"]
    assert c["fps_at_routed_fmax"] == pytest.approx(acc.clock_mhz * 0.9e6 / 5000)
    assert c["fps_at_config_clock"] == pytest.approx(acc.clock_mhz * 1e6 / 5000) and not c["meets_config_clock"]
    assert "BELOW THE CONFIG'S CLOCK" in md and f"{acc.clock_mhz:g} MHz" in md
    table, md = resource_table(acc, routed(acc.clock_mhz + 1), None, period_cycles=5000)
    assert table["clock"]["meets_config_clock"] and "BELOW" not in md
    table, md = resource_table(acc, None, None, period_cycles=5000)      # not run: the config's clock alone
    assert "routed_fmax_mhz" not in table["clock"] and "FPS at the config's" in md
