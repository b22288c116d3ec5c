"""Reading user files as data: JSON or YAML (safe_load), and atomic writes (temporary file, then rename)."""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

import yaml

from .errors import ConfigError


def load_data(path: str | os.PathLike):
    """Parse a JSON or YAML file into plain Python data. Bad files raise ConfigError naming the file."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(str(p), "missing", "an existing JSON or YAML file")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(str(p), f"not UTF-8 text (byte {exc.start})", "a JSON or YAML text file") from None
    try:
        if p.suffix.lower() in (".yaml", ".yml"):
            return yaml.safe_load(text)
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(str(p), f"malformed JSON at line {exc.lineno} column {exc.colno}", "valid JSON") from None
    except yaml.YAMLError as exc:
        raise ConfigError(str(p), "malformed YAML", f"valid YAML ({str(exc).splitlines()[0]})") from None
    except RecursionError:
        raise ConfigError(str(p), "nested too deeply to read", "a configuration of ordinary depth") from None
    except ValueError as exc:       # e.g. an integer of thousands of digits
        raise ConfigError(str(p), str(exc).splitlines()[0][:120], "valid JSON or YAML with ordinary numbers") \
            from None


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write a file so that readers see either the old file or the whole new one, never half of it."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path, obj) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2) + "\n")


# A folder the toolkit writes whole (an RTL folder, an FPGA bundle) carries this file; a later run replaces only
# a folder that holds it (or, written before the marker existed, one of the files the caller names), never a
# user's own folder.
OUTPUT_MARKER = ".trips-output"


def check_output_dir(path: str | os.PathLike, option: str, own: tuple[str, ...] = ()) -> Path:
    """Before any work starts: `path` is absent, an empty folder, or a folder this toolkit wrote."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise ConfigError(option, str(p), "a folder to write (this is a file)")
    if p.is_dir() and any(p.iterdir()) and not any((p / f).is_file() for f in (OUTPUT_MARKER, *own)):
        raise ConfigError(option, str(p), f"a new or empty folder, or one this toolkit wrote (holding "
                                          f"{OUTPUT_MARKER}): this one holds files of its own and is left as it is")
    parent = next((q for q in (p.parent, *p.parent.parents) if q.exists()), Path("."))
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError(option, str(p), f"a folder under one this user may write ({parent} is not)")
    return p


def check_writable_dir(path: str | os.PathLike, option: str) -> Path:
    """A folder the toolkit adds its files to (out/): a folder this user may write, or one it may create."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise ConfigError(option, str(p), "a folder to write into (this is a file)")
    q = p if p.exists() else next((q for q in p.parents if q.exists()), Path("."))
    if not q.is_dir() or not os.access(q, os.W_OK | os.X_OK):
        raise ConfigError(option, str(p), f"a folder this user may write ({q} is not writable)")
    return p


@contextmanager
def staged_dir(path: str | os.PathLike, option: str, own: tuple[str, ...] = ()):
    """Write a folder whole or not at all: the caller writes into the yielded temporary sibling; when it is done
    the folder replaces `path` (only one check_output_dir accepts), marked as the toolkit's; on any failure the
    temporary folder goes and `path` is as it was."""
    p = check_output_dir(path, option, own)
    made = [q for q in (p.parent, *p.parent.parents) if not q.exists()]     # folders this call creates
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{p.name}.", dir=p.parent))
    try:
        yield tmp
        (tmp / OUTPUT_MARKER).write_text("written by TRIPS; the next run of the same command replaces this folder\n")
        check_output_dir(p, option, own)
        if p.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{p.name}.old.", dir=p.parent))
            p.rename(old / p.name)
            tmp.rename(p)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(p)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        for q in made:                        # innermost first; only what is still empty
            try:
                q.rmdir()
            except OSError:
                break
        raise
