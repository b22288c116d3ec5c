"""The packages' layers (docs/architecture.md): hw_model imports nothing of ours, rtl_gen only hw_model, sim and
fpga hw_model and rtl_gen (sim never the FPGA flow, the FPGA flow never sim), the driver hw_model alone, and none
of them search. The driver runs without torch, Amaranth or cocotb, from the copy a bundle ships."""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OURS = {"hw_model", "rtl_gen", "sim", "fpga", "driver", "search", "bench"}
ALLOWED = {
    "hw_model": set(),
    "rtl_gen": {"hw_model"},
    "sim": {"hw_model", "rtl_gen", "driver"},
    "fpga": {"hw_model", "rtl_gen", "driver"},
    "driver": {"hw_model"},
}


def imported_packages(path: Path) -> set[str]:
    """Our top-level packages that a file imports (absolute imports; relative ones stay in the package)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & OURS


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_a_package_imports_only_the_layers_below_it(package):
    bad = {str(f.relative_to(ROOT)): sorted(imported_packages(f) - ALLOWED[package] - {package})
           for f in sorted((ROOT / package).rglob("*.py"))}
    assert not {f: p for f, p in bad.items() if p}


def test_the_layer_check_sees_an_upward_import(tmp_path):
    f = tmp_path / "x.py"
    f.write_text("import os\nfrom search.export import integer_graph\nfrom . import y\nimport sim.run as r\n")
    assert imported_packages(f) == {"search", "sim"}


def test_the_driver_needs_no_torch_amaranth_or_cocotb(tmp_path):
    """From the copy a bundle ships (host/), in a fresh interpreter that cannot see the repository."""
    from fpga.bundle import ship_host
    ship_host(tmp_path / "host")
    code = ("import sys; import driver; from driver import TripsDriver, load_program; "
            "heavy = sorted(m for m in ('torch', 'amaranth', 'cocotb', 'cocotbext', 'search', 'sim', 'rtl_gen') "
            "if m in sys.modules); print(heavy); print(driver.__file__)")
    r = subprocess.run([sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, 'host'); {code}"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    heavy, where = r.stdout.splitlines()
    assert heavy == "[]" and Path(where).resolve().is_relative_to((tmp_path / "host").resolve())


def test_no_rtl_generator_function_is_a_wall_of_code():
    """Chunks are built from named blocks (docs/architecture.md): no function in rtl_gen over 150 lines."""
    long = []
    for f in sorted((ROOT / "rtl_gen").glob("*.py")):
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno >= 150:
                long.append(f"{f.name}:{node.name} ({node.end_lineno - node.lineno + 1} lines)")
    assert not long
