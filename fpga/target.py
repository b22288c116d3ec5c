"""The FPGA part a bundle is for: an ECP5 (yosys + nextpnr-ecp5 here) or a 7-series Xilinx part (Vivado)."""
from __future__ import annotations

import re
from dataclasses import dataclass

from hw_model.errors import ConfigError

DEFAULT_TARGET = "LFE5U-85F-8BG381C"
XILINX_DEFAULT = "xc7z020clg400-1"        # the PYNQ-Z2's Zynq-7020
ECP5_PART = re.compile(r"^LFE5(U|UM|UM5G)-(12|25|45|85)F-([678])(BG256|BG381|BG554|BG756|MG285)C?$")
XILINX_PART = re.compile(r"^xc7[azkv]\w+-\d+L?$")


@dataclass(frozen=True)
class Target:
    part: str
    family: str               # ecp5 | xc7

    @property
    def nextpnr_args(self) -> list[str]:
        m = ECP5_PART.fullmatch(self.part)
        dev = {"U": "", "UM": "um-", "UM5G": "um5g-"}[m.group(1)] + f"{m.group(2)}k"
        pkg = {"BG256": "CABGA256", "BG381": "CABGA381", "BG554": "CABGA554", "BG756": "CABGA756",
               "MG285": "CSFBGA285"}[m.group(4)]
        return [f"--{dev}", "--package", pkg, "--speed", m.group(3)]


def parse_target(part: str) -> Target:
    if ECP5_PART.fullmatch(part):
        return Target(part, "ecp5")
    if XILINX_PART.fullmatch(part):
        return Target(part, "xc7")
    raise ConfigError("TARGET", part, "an ECP5 part such as LFE5U-85F-8BG381C or a 7-series Xilinx part such as "
                                      "xc7z020clg400-1")
