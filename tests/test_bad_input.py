"""Bad input, table-driven, through every command line (python -m rtl_gen, sim, fpga, search) and the Makefile:
each kind answers with exit 2, one line on stderr naming what is wrong, no traceback, and leaves the folder it
runs in (out/ included, and a user's folder passed as --out) exactly as it was."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hw_model.config import Accelerator
from hw_model.defaults import DEFAULT_CONFIG
from hw_model.intnet import save_weights
from hw_model.refnet import reference_images, reference_network

ROOT = Path(__file__).resolve().parent.parent
GOOD = json.loads(Path(DEFAULT_CONFIG).read_text())


def cfg(**change) -> str:
    """The default config with top-level fields changed (None removes one)."""
    d = json.loads(json.dumps(GOOD))
    for k, v in change.items():
        if v is None:
            d.pop(k, None)
        else:
            d[k] = v
    return json.dumps(d)


def chunk(i=0, **change) -> str:
    d = json.loads(json.dumps(GOOD))
    d["chunks"][i].update(change)
    return json.dumps(d)


def mem(**change) -> str:
    d = json.loads(json.dumps(GOOD))
    d["memory"].update(change)
    return json.dumps(d)


def result_files(tmp: Path, mutate=None, weights=None) -> Path:
    """A search result (best.json + weights.npz) of the reference network on the default, optionally mutated."""
    layers, graph = reference_network(seed=1)
    best = {"format": "trips-search-v1", "name": "best", "accelerator": {**GOOD, "name": "best"},
            "network": {"layers": [L.to_dict() for L in layers], "integer_graph": graph.to_json(),
                        "input_scale": graph.input_scale, "input_bits": graph.input_bits, "data": "digits"},
            "weights_file": "weights.npz"}
    if weights is None:
        save_weights(graph, tmp / "weights.npz", reference_images(4, seed=1), np.zeros(4, dtype=np.int64))
    else:
        weights(tmp / "weights.npz")
    if mutate:
        mutate(best)
    (tmp / "best.json").write_text(json.dumps(best))
    return tmp / "best.json"


def _set(path: str, value):
    def f(best):
        keys = path.split(".")
        d = best
        for k in keys[:-1]:
            d = d[int(k)] if isinstance(d, list) else d[k]
        last = keys[-1]
        if value is KeyError:
            del d[int(last) if isinstance(d, list) else last]
        elif isinstance(d, list):
            d[int(last)] = value
        else:
            d[last] = value
    return f


def _pickle_weights(p: Path):
    np.save(p, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    Path(str(p) + ".npy").rename(p)


CONFIG_FILES = {        # name: (file name, text or bytes, a word the error names)
    "malformed JSON": ("c.json", '{"name": "x", "chunks": [', "malformed JSON"),
    "not UTF-8": ("c.json", b"\xff\xfe{}", "UTF-8"),
    "JSON 100,000 deep": ("c.json", "[" * 100000, "nested too deeply"),
    "YAML 5,000 deep": ("c.yaml", "- " * 5000 + "x", "nested too deeply"),
    "5,000-digit integer": ("c.json", '{"name": ' + "9" * 5000 + "}", "c.json"),
    "malformed YAML": ("c.yaml", "name: [x\n", "malformed YAML"),
    "empty file": ("c.json", "", "malformed JSON"),
    "a list": ("c.json", "[1, 2]", "config"),
    "a string": ("c.json", '"default"', "config"),
    "unknown field": ("c.json", cfg(wings=2), "wings"),
    "no chunks": ("c.json", cfg(chunks=None), "chunks"),
    "empty chunks": ("c.json", cfg(chunks=[]), "chunks"),
    "non-ASCII name": ("c.json", cfg(name="défaut"), "name"),
    "name with a space": ("c.json", cfg(name="my design"), "name"),
    "name with a quote": ("c.json", cfg(name="x'; rm -rf ~; '"), "name"),
    "clock 0": ("c.json", cfg(clock_mhz=0), "clock_mhz"),
    "clock a string": ("c.json", cfg(clock_mhz="fast"), "clock_mhz"),
    "clock true": ("c.json", cfg(clock_mhz=True), "clock_mhz"),
    "large_map 0": ("c.json", cfg(large_map=0), "large_map"),
    "chunk bits 8.0": ("c.json", chunk(bits=8.0), "bits"),
    "chunk bits 2": ("c.json", chunk(bits=2), "bits"),
    "chunk bits true": ("c.json", chunk(bits=True), "bits"),
    "chunk tm 0": ("c.json", chunk(tm=0), "tm"),
    "chunk tm 1000": ("c.json", chunk(tm=1000), "tm"),
    "chunk trb -1": ("c.json", chunk(trb=-1), "trb"),
    "chunk tcb 4.5": ("c.json", chunk(tcb=4.5), "tcb"),
    "chunk dataflow": ("c.json", chunk(dataflow="systolic"), "dataflow"),
    "chunk out_bits [8.0]": ("c.json", chunk(out_bits=[8.0]), "out_bits"),
    "chunk out_bits []": ("c.json", chunk(out_bits=[]), "out_bits"),
    "chunk out_bits 3": ("c.json", chunk(out_bits=[3]), "out_bits"),
    "chunk name non-ASCII": ("c.json", chunk(name="c\u00e9"), "name"),
    "chunk name empty": ("c.json", chunk(name=""), "name"),
    "duplicate chunk names": ("c.json", chunk(1, name="c4"), "c4"),
    "vector chunk tm 2": ("c.json", chunk(6, tm=2), "tm"),
    "chunk unknown field": ("c.json", chunk(speed=3), "speed"),
    "tile larger than its buffer": ("c.json", chunk(tm=64, tmb=32), "tm"),
    "bus_bits 64.0": ("c.json", mem(bus_bits=64.0), "bus_bits"),
    "bus_bits 100": ("c.json", mem(bus_bits=100), "bus_bits"),
    "read_latency 0": ("c.json", mem(read_latency=0), "read_latency"),
    "read_latency 256": ("c.json", mem(read_latency=256), "read_latency"),
    "bandwidth 0": ("c.json", mem(bandwidth_gb_s=0), "bandwidth_gb_s"),
    "bandwidth a string": ("c.json", mem(bandwidth_gb_s="1.6"), "bandwidth_gb_s"),
    "burst_beats 0": ("c.json", mem(burst_beats=0), "burst_beats"),
    "burst_beats past a 4 KB page": ("c.json", mem(burst_beats=1024), "burst_beats"),
    "bursts with too short a read latency": ("c.json", mem(burst_beats=16, read_latency=19), "read_latency"),
    "addr_bits 40": ("c.json", mem(addr_bits=40), "addr_bits"),
    "memory unknown field": ("c.json", mem(banks=2), "banks"),
}

LAYER_FILES = {
    "layers malformed": ('[{"name": "a", ', "malformed JSON"),
    "layers an object": ('{"name": "a"}', "layers"),
    "layers empty": ("[]", "layers"),
    "in_channels 0": ('[{"name": "a", "in_channels": 0, "out_channels": 4, "in_size": [8, 8]}]', "in_channels"),
    "in_size negative": ('[{"name": "a", "in_channels": 4, "out_channels": 4, "in_size": [8, -8]}]', "in_size"),
    "in_size one number": ('[{"name": "a", "in_channels": 4, "out_channels": 4, "in_size": 8}]', "in_size"),
    "layer bits 8.0": ('[{"name": "a", "in_channels": 4, "out_channels": 4, "in_size": [8, 8], "bits": 8.0}]', "bits"),
    "kernel 13": ('[{"name": "a", "in_channels": 4, "out_channels": 4, "in_size": [8, 8], "kernel": 13}]', "kernel"),
    "padding >= kernel": ('[{"name": "a", "in_channels": 4, "out_channels": 4, "in_size": [8, 8], "kernel": 3, '
                          '"padding": 3}]', "padding"),
    "groups not a divisor": ('[{"name": "a", "in_channels": 6, "out_channels": 4, "in_size": [8, 8], "groups": 4}]',
                             "groups"),
    "duplicate layer names": ('[{"name": "a", "in_channels": 4, "out_channels": 4, "in_size": [8, 8]}, '
                              '{"name": "a", "in_channels": 4, "out_channels": 4, "in_size": [8, 8]}]', "a"),
    "op unknown": ('[{"name": "a", "op": "lstm", "in_channels": 4, "out_channels": 4, "in_size": [8, 8]}]', "op"),
    "no chunk of its bit-width": ('[{"name": "a", "in_channels": 4, "out_channels": 4, "in_size": [8, 8], '
                                  '"bits": 5}]', "a"),
    "a layer too big to simulate here": ('[{"name": "huge", "in_channels": 4096, "out_channels": 4096, '
                                         '"in_size": [1024, 1024], "kernel": 3, "padding": 1}]', "GiB"),
}

RESULTS = {             # a search result with one part wrong
    "network a string": (dict(mutate=_set("network", "resnet")), "network"),
    "no network.layers": (dict(mutate=_set("network.layers", KeyError)), "network.layers"),
    "network.layers empty": (dict(mutate=_set("network.layers", [])), "network.layers"),
    "a graph node without name": (dict(mutate=_set("network.integer_graph.0.name", KeyError)), "name"),
    "a graph node's bits 8.0": (dict(mutate=_set("network.integer_graph.0.bits", 8.0)), "bits"),
    "a graph node's op": (dict(mutate=_set("network.integer_graph.4.op", "mul")), "op"),
    "a graph node reads a later one": (dict(mutate=_set("network.integer_graph.1.input", "head")), "input"),
    "no input_scale": (dict(mutate=_set("network.input_scale", KeyError)), "input_scale"),
    "input_bits 3": (dict(mutate=_set("network.input_bits", 3)), "input_bits"),
    "integer_graph empty": (dict(mutate=_set("network.integer_graph", [])), "integer_graph"),
    "weights_file a number": (dict(mutate=_set("weights_file", 7)), "weights_file"),
    "weights_file outside the folder": (dict(mutate=_set("weights_file", "../../../../etc/passwd")), "weights_file"),
    "weights_file absolute": (dict(mutate=_set("weights_file", "/etc/passwd")), "weights_file"),
    "weights file missing": (dict(weights=lambda p: None), "weights_file"),
    "weights file text": (dict(weights=lambda p: p.write_text("hello")), "weights_file"),
    "weights file a pickle": (dict(weights=_pickle_weights), "weights_file"),
    "weights of another shape": (dict(mutate=_set("network.integer_graph.0.out_channels", 9)), "stem"),
    "mapping names another chunk": (dict(mutate=_set("mapping", {"stem": "v8"})), "mapping"),
    "mapping names no layer": (dict(mutate=_set("mapping", {"nolayer": "c8"})), "mapping"),
    "format of another version": (dict(mutate=_set("format", "trips-search-v0")), "format"),
    "predicted a list": (dict(mutate=_set("predicted", [1])), "predicted"),
    "layers and graph disagree": (dict(mutate=_set("network.layers.1.name", "other")), "network.layers"),
}


def run(args, cwd, env_extra=None):
    import os
    env = {"PYTHONPATH": str(ROOT), "PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root"),
           **(env_extra or {})}
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, env=env, timeout=300)


def snapshot(d: Path) -> dict:
    return {str(p.relative_to(d)): (p.read_bytes() if p.is_file() else None) for p in sorted(d.rglob("*"))}


def check_refused(r, before, cwd, word):
    assert r.returncode == 2, (r.returncode, r.stdout[-500:], r.stderr[-2000:])
    assert "Traceback" not in r.stderr, r.stderr
    lines = r.stderr.strip().splitlines()
    errors = [ln for ln in lines if ln.startswith("error: ")]
    assert len(errors) == 1, r.stderr
    assert word.lower() in errors[0].lower(), errors[0]
    assert snapshot(cwd) == before


def _write(p: Path, content):
    if isinstance(content, bytes):
        p.write_bytes(content)
    else:
        p.write_text(content)
    return p


# every kind through rtl_gen; through sim and the FPGA flow (the same loader) a sample of them
SAMPLE = ("malformed JSON", "not UTF-8", "JSON 100,000 deep", "non-ASCII name", "chunk bits 8.0", "bus_bits 64.0",
          "duplicate chunk names", "tile larger than its buffer", "clock 0", "a list")


@pytest.mark.parametrize("tool, case", [("rtl_gen", c) for c in sorted(CONFIG_FILES)]
                         + [(t, c) for t in ("sim", "fpga") for c in SAMPLE])
def test_a_bad_config_is_one_line(tmp_path, tool, case):
    name, text, word = CONFIG_FILES[case]
    f = _write(tmp_path / name, text)
    extra = ["--no-run"] if tool == "fpga" else []
    before = snapshot(tmp_path)
    check_refused(run([sys.executable, "-m", tool, "--config", str(f), *extra], tmp_path), before, tmp_path, word)


@pytest.mark.parametrize("case", sorted(LAYER_FILES))
def test_a_bad_layer_list_is_one_line(tmp_path, case):
    text, word = LAYER_FILES[case]
    f = _write(tmp_path / "layers.json", text)
    before = snapshot(tmp_path)
    r = run([sys.executable, "-m", "sim", "--config", str(DEFAULT_CONFIG), "--layers", str(f)], tmp_path)
    check_refused(r, before, tmp_path, word)


@pytest.mark.parametrize("tool", ["sim", "fpga"])
@pytest.mark.parametrize("case", sorted(RESULTS))
def test_a_bad_search_result_is_one_line(tmp_path, tool, case):
    kw, word = RESULTS[case]
    res = tmp_path / "res"
    res.mkdir()
    best = result_files(res, **kw)
    extra = ["--no-run"] if tool == "fpga" else []
    before = snapshot(tmp_path)
    r = run([sys.executable, "-m", tool, "--config", str(best), *extra], tmp_path)
    check_refused(r, before, tmp_path, word)
    assert "root:" not in r.stderr + r.stdout              # /etc/passwd was never read out


def test_the_good_result_of_the_table_is_accepted():
    """The table's result files are a valid result until mutated (so each row tests its own defect)."""
    import tempfile

    from hw_model.io import load_data
    from hw_model.program import plan_network
    from hw_model.result import load_network
    with tempfile.TemporaryDirectory() as d:
        best = result_files(Path(d))
        net = load_network(load_data(best), best, 2)
        assert len(net.layers) == 11 and net.images.shape == (2, 3, 8, 8)
        plan_network(Accelerator.load(best), net.layers, net.graph)


OPTIONS = {             # tool, options, a word the error names
    "sim --seed -1": ("sim", ["--seed", "-1"], "--seed"),
    "sim --images 0": ("sim", ["--images", "0"], "--images"),
    "sim --frames 17": ("sim", ["--frames", "17"], "--frames"),
    "sim --frames -1": ("sim", ["--frames", "-1"], "--frames"),
    "sim --simulator questa": ("sim", ["--simulator", "questa"], "simulator"),
    "sim --network searched on a plain config": ("sim", ["--network", "searched"], "--config"),
    "sim --out a folder": ("sim", ["--out", "."], "--out"),
    "sim --layers missing": ("sim", ["--layers", "nope.json"], "nope.json"),
    "sim --bogus": ("sim", ["--bogus"], "unrecognized"),
    "rtl_gen --config missing": ("rtl_gen", ["--config", "nope.json"], "nope.json"),
    "rtl_gen --config a folder": ("rtl_gen", ["--config", "."], "."),
    "rtl_gen --out a user folder": ("rtl_gen", ["--out", "."], "--out"),
    "fpga --target bogus": ("fpga", ["--target", "XC9999"], "TARGET"),
    "fpga --target with a newline": ("fpga", ["--target", "LFE5U-85F-8BG381C\n"], "TARGET"),
    "fpga --target with a semicolon": ("fpga", ["--target", "LFE5U-85F-8BG381C; rm -rf ~"], "TARGET"),
    "fpga --seed -1": ("fpga", ["--seed", "-1"], "--seed"),
    "fpga --timeout 0": ("fpga", ["--timeout", "0"], "--timeout"),
    "fpga --out a user folder": ("fpga", ["--out", ".", "--no-run"], "--out"),
    "search --target nan": ("search", ["--target", "nan"], "--target"),
    "search --target -1": ("search", ["--target", "-1"], "--target"),
    "search --finetune-epochs -1": ("search", ["--finetune-epochs", "-1"], "--finetune-epochs"),
    "search --bits 4,4": ("search", ["--bits", "4,4"], "--bits"),
    "search --bits 3": ("search", ["--bits", "3"], "--bits"),
    "search --bits x": ("search", ["--bits", "x"], "--bits"),
    "search --dsp -5": ("search", ["--dsp", "-5"], "--dsp"),
    "search --bram18 0": ("search", ["--bram18", "0"], "--bram18"),
    "search --clock 0": ("search", ["--clock", "0"], "--clock"),
    "search --bandwidth 0": ("search", ["--bandwidth", "0"], "--bandwidth"),
    "search --device foo": ("search", ["--device", "foo"], "--device"),
    "search --device cuda:7": ("search", ["--device", "cuda:7"], "--device"),
    "search --seed -1": ("search", ["--seed", "-1"], "--seed"),
    "search --epochs 0": ("search", ["--epochs", "0"], "--epochs"),
    "search --warmup 500": ("search", ["--warmup", "500"], "--warmup"),
    "search --preset huge": ("search", ["--preset", "huge"], "PRESET"),
    "search --metric speed": ("search", ["--metric", "speed"], "METRIC"),
    "search --data mnist": ("search", ["--data", "mnist"], "DATA"),
    "search --data cifar10 without a folder": ("search", ["--data", "cifar10"], "DATA_DIR"),
    "search --data-dir missing": ("search", ["--data", "cifar10", "--data-dir", "nope"], "DATA_DIR"),
    "search --out a file": ("search", ["--out", "a_file"], "--out"),
    "search --large-map 5000": ("search", ["--large-map", "5000"], "--large-map"),
    "search --batch 0": ("search", ["--batch", "0"], "--batch"),
    "search --epochs x": ("search", ["--epochs", "x"], "--epochs"),
}


@pytest.mark.parametrize("case", sorted(OPTIONS))
def test_a_bad_option_is_one_line(tmp_path, case):
    tool, opts, word = OPTIONS[case]
    (tmp_path / "a_file").write_text("mine")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("mine too")
    args = [sys.executable, "-m", tool, *opts]
    if tool in ("sim", "fpga") and "--config" not in opts:
        args += ["--config", str(DEFAULT_CONFIG)]
    before = snapshot(tmp_path)
    check_refused(run(args, tmp_path), before, tmp_path, word)


MAKE = {                # target and variables: what reaches the tools is an argument, never shell text
    "CONFIG with a command": (["rtl", "CONFIG=`touch pwned`x.json"], "x.json"),
    "CONFIG with $(...)": (["rtl", "CONFIG=$(touch pwned)"], "touch pwned"),
    "CONFIG with make's $(shell)": (["rtl", "CONFIG=$(shell touch pwned)"], "shell touch pwned"),
    "CONFIG with a semicolon": (["rtl", "CONFIG=x.json; touch pwned"], "x.json; touch pwned"),
    "LAYERS with a command": (["sim", "LAYERS=`touch pwned`"], "touch pwned"),
    "SIM with a command": (["sim", "SIM=$(touch pwned)"], "simulator"),
    "TARGET with a command": (["fpga", "TARGET=`touch pwned`", "FPGA_ARGS=--no-run"], "TARGET"),
    "FPGA_ARGS with a command": (["fpga", "FPGA_ARGS=--seed $(touch pwned)"], "--seed"),
}


@pytest.mark.parametrize("case", sorted(MAKE))
def test_make_variables_are_arguments_not_shell(tmp_path, case):
    """make runs in a copy of the Makefile's folder layout: the repository's own .venv, the targets' commands."""
    targets, word = MAKE[case]
    r = subprocess.run(["make", "-s", "-C", str(ROOT), *targets, f"PY={sys.executable}", "-o", ".venv/.stamp"],
                       capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert not (ROOT / "pwned").exists() and not (tmp_path / "pwned").exists()
    assert r.returncode != 0
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in r.stderr, r.stderr
    assert word.lower() in errors[0].lower(), errors[0]


def test_the_table_has_at_least_80_kinds():
    assert len(CONFIG_FILES) + len(LAYER_FILES) + len(RESULTS) + len(OPTIONS) + len(MAKE) >= 80


def test_the_simulation_memory_estimate_bounds_what_a_layer_takes():
    """The estimate is an upper bound of what making and laying out a layer's data takes here (the peak of what
    Python and numpy allocate, traced in a fresh interpreter), and within 4x of it, so it refuses what cannot
    run, not what can."""
    code = ("import tracemalloc, json, numpy as np; from hw_model.config import Accelerator, Layer; "
            "from sim.run import make_case, reference_output; from sim.budget import layer_bytes; "
            "acc = Accelerator.load('configs/default.json'); "
            "L = Layer.from_dict(dict(name='m', in_channels=64, out_channels=64, in_size=[96, 96], kernel=3, "
            "padding=1)); tracemalloc.start(); "
            "c = make_case(acc, L, np.random.default_rng(0)); a, img, end = c.image(0); "
            "j = json.dumps([[k, format(v, 'x')] for k, v in img.items()]); r = reference_output(c); "
            "print(tracemalloc.get_traced_memory()[1], layer_bytes(L, 64))")
    r = run([sys.executable, "-c", code], ROOT)
    used, estimate = map(int, r.stdout.split())
    assert used < estimate < 4 * used, (used, estimate)
