"""The generated register map (Markdown, C header, Python module) against each other and against hw_model:
the C header is compiled and run, the Python module imported, the Markdown table parsed."""
import importlib.util
import re
import shutil
import subprocess

import numpy as np
import pytest

from hw_model.config import Accelerator
from hw_model.control import CONTROL, desc_beats, info_word
from hw_model.jobs import HEADER_WORDS, W_BASES, W_COPIES, W_STRIDES, W_TOKENS, entry_beats
from hw_model.defaults import DEFAULT_CONFIG
from hw_model.mapping import geometry
from hw_model.regs import REGISTERS, Addresses, descriptor, field_offsets, pack_cfg, program
from rtl_gen.emit import emit


JOBS = ("HEADER_WORDS", "W_TOKENS", "W_BASES", "W_STRIDES", "W_COPIES", "ENTRY_BEATS", "DESC_BEATS")


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    out = tmp_path_factory.mktemp("rtl")
    acc = Accelerator.load(DEFAULT_CONFIG)
    manifest = emit(acc, out)
    return acc, out, manifest


def test_c_header_python_module_and_markdown_agree_with_hw_model(generated):
    acc, out, manifest = generated
    md, h, py = (out / f for f in manifest["register_map"])
    want = {f.name: field_offsets()[f.name] for f in REGISTERS}
    # Python module
    spec = importlib.util.spec_from_file_location("regs_generated", py)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.FIELDS == want and mod.SEL == {c.name: i for i, c in enumerate(acc.chunks)}
    # Markdown
    rows = re.findall(r"^\| (\w+) \| (\d+) \| (\d+) \| (\d+) \| (\d+) \|", md.read_text(), re.M)
    assert {r[0]: (int(r[1]), int(r[2])) for r in rows} == want
    assert all(int(r[3]) == 1 + int(r[1]) // 32 and int(r[4]) == int(r[1]) % 32 for r in rows)
    # C header: compiled, and its values printed by the program
    cc = shutil.which("cc") or shutil.which("gcc")
    assert cc, "a C compiler (the Verilator build needs one too)"
    names = [f.name.upper() for f in REGISTERS]
    prog = out / "check.c"
    prog.write_text(f'#include <stdio.h>\n#include "{h.name}"\nint main(void) {{\n'
                    + "".join(f'  printf("{n} %u %u\\n", TRIPS_CFG_{n}_LSB, TRIPS_CFG_{n}_WIDTH);\n' for n in names)
                    + "".join(f'  printf("SEL_{c.name.upper()} %u 0\\n", TRIPS_SEL_{c.name.upper()});\n'
                              for c in acc.chunks)
                    + "".join(f'  printf("REG_{r.name} %u 0\\n", TRIPS_REG_{r.name});\n' for r in CONTROL)
                    + '  printf("INFO %u 0\\n", TRIPS_INFO);\n'
                    + "".join(f'  printf("{k} %u 0\\n", TRIPS_{k});\n' for k in JOBS)
                    + "  return 0;\n}\n")
    subprocess.run([cc, "-Wall", "-Werror", "-o", str(out / "check"), str(prog)], check=True, cwd=out)
    got = dict(line.split(" ", 1) for line in subprocess.run([str(out / "check")], capture_output=True, text=True,
                                                               check=True).stdout.splitlines())
    for f in REGISTERS:
        assert tuple(int(v) for v in got[f.name.upper()].split()) == want[f.name]
    assert all(int(got[f"SEL_{c.name.upper()}"].split()[0]) == i for i, c in enumerate(acc.chunks))
    # control registers: header, module and Markdown against hw_model.control
    assert {r.name: int(got[f"REG_{r.name}"].split()[0]) for r in CONTROL} == {r.name: r.offset for r in CONTROL}
    assert int(got["INFO"].split()[0]) == info_word(acc) == mod.INFO
    assert mod.CONTROL == {r.name: r.offset for r in CONTROL} and mod.DESC_BEATS == desc_beats(acc.memory)
    # the job tables' layout: header and module against hw_model.jobs
    want_jobs = {"HEADER_WORDS": HEADER_WORDS, "W_TOKENS": W_TOKENS, "W_BASES": W_BASES, "W_STRIDES": W_STRIDES,
                 "W_COPIES": W_COPIES, "ENTRY_BEATS": entry_beats(acc.memory), "DESC_BEATS": desc_beats(acc.memory)}
    assert {k: int(got[k].split()[0]) for k in JOBS} == {k: getattr(mod, k) for k in JOBS} == want_jobs
    md_ctrl = re.findall(r"^\| ([A-Z_]+) \| 0x([0-9A-F]{2}) \| (\w+) \|", md.read_text(), re.M)
    assert {n: (int(o, 16), a) for n, o, a in md_ctrl} == {r.name: (r.offset, r.access) for r in CONTROL}


def test_generated_descriptor_is_the_one_the_simulation_packs(generated):
    acc, out, manifest = generated
    spec = importlib.util.spec_from_file_location("regs_generated2", out / manifest["register_map"][2])
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    from hw_model.config import Layer
    L = Layer(name="l", in_channels=20, out_channels=12, in_size=(9, 7), kernel=3, padding=1, bits=6)
    g = geometry(acc, L)
    values = program(g, Addresses(100, 2000, 3000, 4000))
    sel = acc.chunks.index(g.chunk)
    assert mod.descriptor(g.chunk.name, values) == descriptor(sel, pack_cfg(values))
    assert len(descriptor(sel, pack_cfg(values))) == mod.DESC_WORDS
    with pytest.raises(ValueError):
        mod.pack({"kernel": 1 << 8})
    assert np.all(np.array(mod.descriptor(g.chunk.name, values)) < 2 ** 32)
