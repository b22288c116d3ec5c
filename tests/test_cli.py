"""The command lines: bad input gives one line and exit 2 with nothing written; good input writes its files."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run(args, cwd):
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})


def _write(p: Path, text: str) -> Path:
    p.write_text(text)
    return p


BAD = {
    "malformed.json": '{"name": "x", "chunks": [',
    "unknown_field.json": '{"name": "x", "chunks": [{"name": "c", "bits": 8, "wings": 2}]}',
    "bad_bits.json": '{"name": "x", "chunks": [{"name": "c", "bits": 2}]}',
    "tile_too_big.json": '{"name": "x", "chunks": [{"name": "c", "bits": 8, "tm": 64, "tmb": 32}]}',
    "negative.json": '{"name": "x", "chunks": [{"name": "c", "bits": 8, "trb": -4}]}',
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_rtl_bad_config_one_line_exit_2_nothing_written(tmp_path, name):
    cfg = _write(tmp_path / name, BAD[name])
    r = run(["-m", "rtl_gen", "--config", str(cfg)], tmp_path)
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("error: ")
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "out").exists()


def test_rtl_missing_config_file(tmp_path):
    r = run(["-m", "rtl_gen", "--config", "nope.json"], tmp_path)
    assert r.returncode == 2 and "nope.json" in r.stderr and r.stderr.count("\n") == 1


@pytest.mark.parametrize("layers, field", [
    ('[{"name": "a", "in_channels": 0, "out_channels": 4, "in_size": [8, 8]}]', "in_channels"),
    ('[{"name": "a", "in_channels": 4, "out_channels": 4, "in_size": [8, -8]}]', "in_size[1]"),
    ('[{"name": "a", "in_channels": 4, "out_channels": 4, "in_size": [8, 8], "kernel": 9, "padding": 4}]',
     "kernel"),
    ('[{"name": "a", "in_channels": 4, "out_channels": 4, "in_size": [8, 8], "bits": 7}]', "bits"),
    ('[{"name": "a", "in_channels": 4, ', "malformed JSON"),
])
def test_sim_bad_layers_one_line_exit_2(tmp_path, layers, field):
    lf = _write(tmp_path / "layers.json", layers)
    r = run(["-m", "sim", "--config", str(ROOT / "configs/default.json"), "--layers", str(lf)], tmp_path)
    assert r.returncode == 2, r.stderr
    assert field in r.stderr and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert not (tmp_path / "out").exists()


def test_rtl_writes_verilog_and_manifest(tmp_path):
    r = run(["-m", "rtl_gen", "--config", str(ROOT / "configs/default.json")], tmp_path)
    assert r.returncode == 0, r.stderr
    out = tmp_path / "out/rtl/default"
    manifest = json.loads((out / "manifest.json").read_text())
    assert [m["chunk"] for m in manifest["modules"]] == ["c4", "c6", "c8", "d4", "d6", "d8", "v4", "v6", "v8"]
    assert (out / manifest["top"]["file"]).exists() and manifest["top"]["sel"]["v8"] == 8
    system = manifest["system"]
    assert (out / system["file"]).read_text().count(f"module {system['module']}(") == 1
    for m in manifest["modules"]:
        text = (out / m["file"]).read_text()
        assert f"module {m['module']}(" in text
    assert not list(out.glob(".*.tmp"))


def test_sim_cli_writes_report_and_table(tmp_path):
    layers = _write(tmp_path / "l.json", json.dumps([
        {"name": "a", "in_channels": 5, "out_channels": 9, "in_size": [5, 6], "kernel": 3, "padding": 1, "bits": 8},
        {"name": "b", "in_channels": 12, "out_channels": 3, "in_size": [4, 4], "kernel": 1, "bits": 8,
         "out_bits": 4}]))
    r = run(["-m", "sim", "--config", str(ROOT / "configs/default.json"), "--layers", str(layers)], tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    report = json.loads((tmp_path / "out/sim/report.json").read_text())
    assert [row["name"] for row in report["layers"]] == ["a", "b"]
    for row in report["layers"]:
        assert set(row) >= {"name", "model_cycles", "rtl_cycles", "bit_exact", "mac_utilization"}
        assert row["model_cycles"] == row["rtl_cycles"] and row["bit_exact"] is True
    assert "model_cycles" in r.stdout and "all cycle-exact and bit-exact" in r.stdout
    # the build cache keeps the executable, not Verilator's ~200 MB of headers and objects per build
    builds = [d for d in (tmp_path / "sim_build/verilator").iterdir() if d.is_dir()]
    assert builds and all((d / "built.stamp").exists() for d in builds)
    assert not [f for d in builds for p in ("*.gch", "*.o", "*.a") for f in d.glob(p)]
