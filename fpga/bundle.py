"""Writing the hand-off bundle (fpga/__init__.py lists its files) under a temporary sibling, renamed into place."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

import driver
import hw_model
from hw_model.config import Accelerator
from hw_model.intnet import int_forward
from hw_model.frame_program import DEFAULT_FRAMES, frame_input_words, frame_program, parse_frames_program
from hw_model.io import load_data, staged_dir
from hw_model.program import hex_text
from hw_model.result import has_network, load_network
from rtl_gen.frames import frames_module_name, frames_verilog
from rtl_gen.regmap import c_header, markdown, python_module

from .flow import run_ecp5, run_xc7
from .readme import readme
from .reports import resource_table
from .scripts import DEFAULT_SEED, ecp5_script, lpf, vivado_tcl, xdc
from .target import DEFAULT_TARGET, XILINX_DEFAULT, Target, parse_target

# what marks a bundle written before the toolkit's output marker (hw_model.io.OUTPUT_MARKER)
BUNDLE_FILES = ("bundle.json",)


def ship_host(dest: Path) -> None:
    """The host software a board runs: the driver package and hw_model, the one description it reads (numpy and
    pyyaml only: no torch, Amaranth or cocotb)."""
    for pkg in (driver, hw_model):
        src = Path(pkg.__file__).parent
        shutil.copytree(src, dest / src.name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


def build_bundle(cfg_path: Path, target: Target, out: Path, run: bool = True, frames: int = DEFAULT_FRAMES,
                 timeout: int = 3600, progress=print, seed: int | None = DEFAULT_SEED) -> dict:
    acc = Accelerator.load(cfg_path)
    raw = load_data(cfg_path)
    net = load_network(raw if has_network(raw) else None, cfg_path, frames)
    top = frames_module_name(acc.name)
    name = acc.name.replace("-", "_")
    with staged_dir(out, "--out", own=BUNDLE_FILES) as tmp:
        for d in ("rtl", "constraints", "vivado", "ecp5", "regmap", "mem", "reports", "host"):
            (tmp / d).mkdir()
        progress(f"generating {top} ...")
        (tmp / "rtl" / f"{top}.v").write_text(frames_verilog(acc))
        (tmp / "rtl" / "files.f").write_text(f"{top}.v\n")
        (tmp / "constraints" / f"{top}.xdc").write_text(xdc(acc))
        (tmp / "constraints" / f"{top}.lpf").write_text(lpf(acc))
        (tmp / "vivado" / "build.tcl").write_text(
            vivado_tcl(acc, top, target.part if target.family == "xc7" else XILINX_DEFAULT))
        ecp5_t = target if target.family == "ecp5" else parse_target(DEFAULT_TARGET)
        sh = tmp / "ecp5" / "build.sh"
        sh.write_text(ecp5_script(acc, top, ecp5_t, seed))
        sh.chmod(0o755)
        for fname, text in ((f"{name}_regs.md", markdown(acc)), (f"{name}_regs.h", c_header(acc)),
                            (f"{name}_regs.py", python_module(acc))):
            (tmp / "regmap" / fname).write_text(text)
        program = frame_program(acc, net.layers, net.graph, len(net.images)).to_json(acc)
        (tmp / "mem" / "program.json").write_text(json.dumps(program, indent=1) + "\n")
        prog = parse_frames_program(program)
        (tmp / "mem" / "static.hex").write_text(hex_text(prog["static"]))
        for i, img in enumerate(net.images):     # image i is frame i of a run
            (tmp / "mem" / f"input_{i}.hex").write_text(hex_text(frame_input_words(prog, img, i)))
            np.save(tmp / "mem" / f"input_{i}.npy", np.asarray(img, dtype=np.int64))
        logits = int_forward(net.graph, net.images)
        (tmp / "mem" / "expected_logits.json").write_text(json.dumps(logits.tolist()) + "\n")
        ship_host(tmp / "host")
        (tmp / "README.md").write_text(readme(acc, top, target, program, net.source))
        summary = {"config": str(cfg_path), "target": target.part, "top": top, "network": net.source}
        if run:
            progress("yosys synth_xilinx (xc7) for resource counts ...")
            xc7 = run_xc7(tmp, top, timeout)
            progress(f"yosys synth_ecp5 + nextpnr-ecp5 ({ecp5_t.part}, out of context) ...")
            ecp5 = run_ecp5(tmp, top, ecp5_t, acc, timeout, seed)
            table, md = resource_table(acc, ecp5, xc7, program["period"])
            (tmp / "reports" / "resources.json").write_text(json.dumps(table, indent=1) + "\n")
            (tmp / "reports" / "resources.md").write_text(md)
            summary["resources"] = table
        (tmp / "bundle.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary
