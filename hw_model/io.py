"""Reading user files as data: JSON or YAML (safe_load), and atomic writes (temporary file, then rename)."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import yaml

from .errors import ConfigError


def load_data(path: str | os.PathLike):
    """Parse a JSON or YAML file into plain Python data. Bad files raise ConfigError naming the file."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(str(p), "missing", "an existing JSON or YAML file")
    text = p.read_text()
    try:
        if p.suffix.lower() in (".yaml", ".yml"):
            return yaml.safe_load(text)
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(str(p), f"malformed JSON at line {exc.lineno} column {exc.colno}", "valid JSON") from None
    except yaml.YAMLError as exc:
        raise ConfigError(str(p), "malformed YAML", f"valid YAML ({str(exc).splitlines()[0]})") from None


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write text so that readers see either the old file or the whole new one, never half of it."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path, obj) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2) + "\n")
