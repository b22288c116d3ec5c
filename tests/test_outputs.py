"""Output folders: a command replaces only a folder it wrote itself (hw_model.io.OUTPUT_MARKER), writes the new
one whole under a temporary sibling and renames it into place, and refuses anything else in one line with exit 2,
leaving it as it was."""
import subprocess
import sys
from pathlib import Path

import pytest

from hw_model.errors import ConfigError
from hw_model.io import OUTPUT_MARKER, staged_dir

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = str(ROOT / "configs" / "default.json")


def run(args, cwd):
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})


def snapshot(d: Path) -> dict:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("cmd", [["-m", "fpga", "--no-run", "--config", DEFAULT, "--out"],
                                 ["-m", "rtl_gen", "--config", DEFAULT, "--out"]])
@pytest.mark.parametrize("target", ["user_folder", "a_file", "the_cwd"])
def test_a_folder_the_toolkit_did_not_write_is_refused_and_kept(tmp_path, cmd, target):
    user = tmp_path / "mine"
    user.mkdir()
    (user / "thesis.tex").write_text("years of work")
    (user / "sub").mkdir()
    (user / "sub" / "data.csv").write_text("1,2,3")
    path = {"user_folder": user, "a_file": user / "thesis.tex", "the_cwd": Path(".")}[target]
    before = snapshot(user)
    r = run([*cmd, str(path)], user)
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("error: --out: ") and "Traceback" not in r.stderr
    assert snapshot(user) == before
    assert [p.name for p in user.iterdir() if p.name.startswith(".")] == []     # no temporary folder left


def test_staged_dir_replaces_its_own_folder_and_keeps_the_old_one_on_failure(tmp_path):
    out = tmp_path / "o"
    with staged_dir(out, "--out") as d:
        (d / "a.txt").write_text("first")
    assert (out / OUTPUT_MARKER).is_file() and (out / "a.txt").read_text() == "first"
    with pytest.raises(RuntimeError):
        with staged_dir(out, "--out") as d:
            (d / "a.txt").write_text("half")
            raise RuntimeError("a tool failed")
    assert (out / "a.txt").read_text() == "first"
    with staged_dir(out, "--out") as d:
        (d / "b.txt").write_text("second")
    assert sorted(p.name for p in out.iterdir()) == [OUTPUT_MARKER, "b.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o"]


def test_staged_dir_refuses_before_the_work(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "keep").write_text("k")
    ran = []
    with pytest.raises(ConfigError, match="holds files of its own"):
        with staged_dir(tmp_path / "x", "--out"):
            ran.append(1)
    assert not ran and (tmp_path / "x" / "keep").read_text() == "k"
