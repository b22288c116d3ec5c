"""The register map as a hardware engineer's files, generated from hw_model.regs (the one description):
Markdown, a C header and a Python module. Each lists every cfg field with its bit offset and width, the
descriptor layout (word 0: chunk select, then the cfg word in 32-bit words) and the accelerator's chunk
select numbers. `python -m rtl_gen` writes them beside the Verilog."""
from __future__ import annotations

from hw_model.config import Accelerator
from hw_model.control import CONTROL, CTRL_DONE, CTRL_IDLE, CTRL_START, GIE_ENABLE, IRQ_DONE, desc_beats, info_word
from hw_model.regs import CFG_BITS, CFG_WORDS, DESC_SEL_BITS, DESC_WORDS, REGISTERS, field_offsets


def _ident(name: str) -> str:
    return name.upper().replace("-", "_")


def markdown(acc: Accelerator) -> str:
    off = field_offsets()
    lines = [f"# Register map of `{acc.name}`", "",
             "Generated from hw_model/regs.py. A layer is one descriptor of "
             f"{DESC_WORDS} 32-bit words: word 0 holds the chunk select in bits {DESC_SEL_BITS - 1}:0, words 1.."
             f"{CFG_WORDS} the {CFG_BITS}-bit cfg word, least significant word first.", "",
             "## Control registers (AXI4-Lite, 32-bit)", "",
             "Generated from hw_model/control.py. Descriptor i of a run is read from beat DESC_ADDR + i * "
             f"{desc_beats(acc.memory)} of the memory window (byte MEM_BASE + beat * {acc.memory.bus_bits // 8}).",
             "", "| register | offset | access | meaning |", "|---|---|---|---|"]
    lines += [f"| {r.name} | 0x{r.offset:02X} | {r.access} | {r.doc} |" for r in CONTROL]
    lines += ["", f"INFO reads 0x{info_word(acc):08X} for this accelerator.", "",
              "## Chunk select", "", "| chunk | sel | dataflow | bits |", "|---|---|---|---|"]
    lines += [f"| {c.name} | {i} | {c.dataflow} | {c.bits} |" for i, c in enumerate(acc.chunks)]
    lines += ["", "## cfg fields", "", "| field | lsb | width | word | bit in word | meaning |", "|---|---|---|---|---|---|"]
    for f in REGISTERS:
        lsb = off[f.name][0]
        lines.append(f"| {f.name} | {lsb} | {f.width} | {1 + lsb // 32} | {lsb % 32} | {f.doc} |")
    return "\n".join(lines) + "\n"


def c_header(acc: Accelerator) -> str:
    off = field_offsets()
    g = f"TRIPS_{_ident(acc.name)}_REGS_H"
    out = [f"/* Register map of {acc.name}: generated from hw_model/regs.py, do not edit. */", f"#ifndef {g}",
           f"#define {g}", "", f"#define TRIPS_CFG_BITS {CFG_BITS}u", f"#define TRIPS_CFG_WORDS {CFG_WORDS}u",
           f"#define TRIPS_DESC_WORDS {DESC_WORDS}u", f"#define TRIPS_DESC_SEL_BITS {DESC_SEL_BITS}u", ""]
    out += [f"#define TRIPS_SEL_{_ident(c.name)} {i}u" for i, c in enumerate(acc.chunks)]
    out += ["", "/* AXI4-Lite control registers (byte offsets) */"]
    out += [f"#define TRIPS_REG_{r.name} 0x{r.offset:02X}u /* {r.access}: {r.doc} */" for r in CONTROL]
    out += [f"#define TRIPS_CTRL_START {CTRL_START}u", f"#define TRIPS_CTRL_DONE {CTRL_DONE}u",
            f"#define TRIPS_CTRL_IDLE {CTRL_IDLE}u", f"#define TRIPS_GIE_ENABLE {GIE_ENABLE}u",
            f"#define TRIPS_IRQ_DONE {IRQ_DONE}u", f"#define TRIPS_DESC_BEATS {desc_beats(acc.memory)}u",
            f"#define TRIPS_BEAT_BYTES {acc.memory.bus_bits // 8}u", f"#define TRIPS_INFO 0x{info_word(acc):08X}u"]
    out.append("")
    for f in REGISTERS:
        lsb = off[f.name][0]
        out += [f"/* {f.doc} */", f"#define TRIPS_CFG_{_ident(f.name)}_LSB {lsb}u",
                f"#define TRIPS_CFG_{_ident(f.name)}_WIDTH {f.width}u"]
    out += ["", f"#endif /* {g} */", ""]
    return "\n".join(out)


def python_module(acc: Accelerator) -> str:
    off = field_offsets()
    fields = ",\n".join(f"    {f.name!r}: ({off[f.name][0]}, {f.width})" for f in REGISTERS)
    sel = ", ".join(f"{c.name!r}: {i}" for i, c in enumerate(acc.chunks))
    ctrl = ", ".join(f"{r.name!r}: 0x{r.offset:02X}" for r in CONTROL)
    return f'''"""Register map of {acc.name}: generated from hw_model/regs.py, do not edit.
A layer is one descriptor: [sel] + the cfg word in 32-bit words, least significant first."""

CFG_BITS = {CFG_BITS}
CFG_WORDS = {CFG_WORDS}
DESC_WORDS = {DESC_WORDS}
DESC_SEL_BITS = {DESC_SEL_BITS}
SEL = {{{sel}}}
# AXI4-Lite control registers: name -> byte offset
CONTROL = {{{ctrl}}}
CTRL_START, CTRL_DONE, CTRL_IDLE = {CTRL_START}, {CTRL_DONE}, {CTRL_IDLE}
GIE_ENABLE, IRQ_DONE = {GIE_ENABLE}, {IRQ_DONE}
DESC_BEATS = {desc_beats(acc.memory)}
BEAT_BYTES = {acc.memory.bus_bits // 8}
INFO = 0x{info_word(acc):08X}
# field: (lsb in the cfg word, width)
FIELDS = {{
{fields},
}}


def pack(values: dict) -> int:
    """cfg word from field values (missing fields are 0)."""
    word = 0
    for name, v in values.items():
        lsb, width = FIELDS[name]
        if not 0 <= v < (1 << width):
            raise ValueError(f"{{name}} = {{v}} does not fit {{width}} bits")
        word |= v << lsb
    return word


def descriptor(chunk: str, values: dict) -> list:
    """One layer's descriptor as 32-bit words."""
    cfg = pack(values)
    return [SEL[chunk]] + [(cfg >> (32 * i)) & 0xFFFFFFFF for i in range(CFG_WORDS)]
'''
