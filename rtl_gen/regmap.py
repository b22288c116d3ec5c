"""The register map as a hardware engineer's files, generated from hw_model (the one description): Markdown, a
C header and a Python module. Each lists the control registers (hw_model.control), the job-table layout
(hw_model.jobs: directory beat, entry header words), every cfg field with its bit offset and width, the
descriptor layout (word 0: chunk select, then the cfg word in 32-bit words) and the accelerator's chunk select
numbers. `python -m rtl_gen` writes them beside the Verilog."""
from __future__ import annotations

from hw_model.config import Accelerator
from hw_model.control import (CONTROL, CTRL_DONE, CTRL_IDLE, CTRL_START, FRAME_LOG, GIE_ENABLE, IRQ_DONE,
                              desc_beats, info_word)
from hw_model.jobs import (HEADER_WORDS, MAX_ENTRIES, MAX_LAYERS, MAX_TOKENS, TOKEN_FIELDS, W_BASES, W_COPIES,
                           W_STRIDES, W_TOKENS, entry_beats, header_beats)

TOKEN_DOC = {"chunk": "chunk", "index": "its entry", "lag": "lag",
             "delta": "rounds from this job's to that entry's (signed)"}
from hw_model.regs import CFG_BITS, CFG_WORDS, DESC_SEL_BITS, DESC_WORDS, REGISTERS, field_offsets

# the job-table layout's constants, by the names the C header and the Python module give them
def _jobs(acc: Accelerator) -> dict[str, int]:
    return {"FRAME_LOG": FRAME_LOG, "HEADER_WORDS": HEADER_WORDS, "W_TOKENS": W_TOKENS, "W_BASES": W_BASES,
            "W_STRIDES": W_STRIDES, "W_COPIES": W_COPIES, "MAX_TOKENS": MAX_TOKENS, "MAX_ENTRIES": MAX_ENTRIES,
            "MAX_LAYERS": MAX_LAYERS, "HEADER_BEATS": header_beats(acc.memory),
            "ENTRY_BEATS": entry_beats(acc.memory), "DESC_BEATS": desc_beats(acc.memory),
            "BEAT_BYTES": acc.memory.bus_bits // 8}


def _ident(name: str) -> str:
    return name.upper().replace("-", "_")


def markdown(acc: Accelerator) -> str:
    off = field_offsets()
    lines = [f"# Register map of `{acc.name}`", "",
             "Generated from hw_model/regs.py. A layer is one descriptor of "
             f"{DESC_WORDS} 32-bit words: word 0 holds the chunk select in bits {DESC_SEL_BITS - 1}:0, words 1.."
             f"{CFG_WORDS} the {CFG_BITS}-bit cfg word, least significant word first.", "",
             "## Control registers (AXI4-Lite, 32-bit)", "",
             "Generated from hw_model/control.py. Beat a of the memory window is byte MEM_BASE + a * "
             f"{acc.memory.bus_bits // 8}.", "", "| register | offset | access | meaning |", "|---|---|---|---|"]
    lines += [f"| {r.name} | 0x{r.offset:02X} | {r.access} | {r.doc} |" for r in CONTROL]
    lines += ["", f"INFO reads 0x{info_word(acc):08X} for this accelerator.", "",
              "## Job tables", "",
              "Generated from hw_model/jobs.py. At TABLE_ADDR, one directory beat per chunk (in chunk select "
              "order): bits 15:0 its entries, 47:16 its first beat relative to the directory, 63:48 its largest "
              f"frame offset. An entry is {entry_beats(acc.memory)} beats: {HEADER_WORDS} header words, then the "
              f"layer's descriptor ({desc_beats(acc.memory)} beats), 32-bit words least significant first.", "",
              "| header word | holds |", "|---|---|",
              "| 0 | layer (bits 7:0), frame offset (23:8), tokens (31:24) |",
              "| 1 | phase: release within the round (release = round * PERIOD + phase) |",
              f"| {W_TOKENS}..{W_TOKENS + MAX_TOKENS - 1} | token: " + ", ".join(
                  f"{TOKEN_DOC[k]} (bits {lsb + w - 1}:{lsb})" for k, (lsb, w) in TOKEN_FIELDS.items()) + " |",
              f"| {W_BASES}..{W_STRIDES - 1} | frame-0 act_base, act_origin, w_base, out_base |",
              f"| {W_STRIDES}..{W_COPIES - 1} | stride in beats of the copies of the groups a, b, out |",
              f"| {W_COPIES}..{HEADER_WORDS - 1} | copies of the groups a, b, out (powers of two) |", "",
              f"Limits: {MAX_LAYERS} layers, {MAX_ENTRIES} entries a chunk, {MAX_TOKENS} tokens an entry; "
              f"FRAME_CYCLE keeps the last {FRAME_LOG} frames' completion cycles.", "",
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
    out = [f"/* Register map of {acc.name}: generated from hw_model (regs.py, control.py, jobs.py), do not edit. */",
           f"#ifndef {g}",
           f"#define {g}", "", f"#define TRIPS_CFG_BITS {CFG_BITS}u", f"#define TRIPS_CFG_WORDS {CFG_WORDS}u",
           f"#define TRIPS_DESC_WORDS {DESC_WORDS}u", f"#define TRIPS_DESC_SEL_BITS {DESC_SEL_BITS}u", ""]
    out += [f"#define TRIPS_SEL_{_ident(c.name)} {i}u" for i, c in enumerate(acc.chunks)]
    out += ["", "/* AXI4-Lite control registers (byte offsets) */"]
    out += [f"#define TRIPS_REG_{r.name} 0x{r.offset:02X}u /* {r.access}: {r.doc} */" for r in CONTROL]
    out += [f"#define TRIPS_CTRL_START {CTRL_START}u", f"#define TRIPS_CTRL_DONE {CTRL_DONE}u",
            f"#define TRIPS_CTRL_IDLE {CTRL_IDLE}u", f"#define TRIPS_GIE_ENABLE {GIE_ENABLE}u",
            f"#define TRIPS_IRQ_DONE {IRQ_DONE}u", f"#define TRIPS_INFO 0x{info_word(acc):08X}u", "",
            "/* job tables (hw_model/jobs.py) */"]
    out += [f"#define TRIPS_{k} {v}u" for k, v in _jobs(acc).items()]
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
    jobs = "\n".join(f"{k} = {v}" for k, v in _jobs(acc).items())
    return f'''"""Register map of {acc.name}: generated from hw_model (regs.py, control.py, jobs.py), do not edit.
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
INFO = 0x{info_word(acc):08X}
# job tables (hw_model/jobs.py)
{jobs}
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
