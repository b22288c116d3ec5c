"""Where the obvious defaults live: out/best.json once a search has run, else configs/default.json."""
from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = REPO / "configs" / "default.json"
DEFAULT_LAYERS = REPO / "configs" / "layers_default.json"


def default_config_path() -> Path:
    best = Path("out/best.json")
    return best if best.is_file() else DEFAULT_CONFIG
