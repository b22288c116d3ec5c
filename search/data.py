"""Data with no download: scikit-learn's bundled handwritten digits (default), or CIFAR-10/100 from a local
folder in the standard python-pickle format. Pickles are read through an unpickler that only builds numpy
arrays and plain containers: a data file is data, never code."""
from __future__ import annotations

import io
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from hw_model.errors import ConfigError

DATASETS = ("digits", "cifar10", "cifar100")


@dataclass
class Split:
    x: torch.Tensor   # [N, C, H, W] float in [0, 1]
    y: torch.Tensor   # [N] int64


@dataclass
class Data:
    train: Split
    test: Split
    num_classes: int
    in_channels: int
    image_size: int


class _ArraysOnly(pickle.Unpickler):
    """Allow numpy arrays and their dtypes, nothing else that could run code."""

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
               ("numpy._core.multiarray", "scalar"), ("builtins", "list"), ("builtins", "dict"),
               ("builtins", "tuple"), ("_codecs", "encode")}

    def find_class(self, module, name):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a data file")


def load_pickle(path: Path):
    try:
        return _ArraysOnly(io.BytesIO(path.read_bytes()), encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError) as exc:
        raise ConfigError(str(path), f"not a CIFAR python pickle ({exc})", "the standard CIFAR python format") from None


def _cifar(root: Path, name: str) -> Data:
    if not root.is_dir():
        raise ConfigError("DATA_DIR", str(root), f"an existing folder with the {name} python-pickle files")
    if name == "cifar10":
        train_files, test_files, key = [f"data_batch_{i}" for i in range(1, 6)], ["test_batch"], b"labels"
    else:
        train_files, test_files, key = ["train"], ["test"], b"fine_labels"
    sub = next((d for d in (root, root / "cifar-10-batches-py", root / "cifar-100-python")
                if all((d / f).is_file() for f in test_files)), None)
    if sub is None:
        raise ConfigError("DATA_DIR", str(root), f"a folder holding {', '.join(train_files + test_files)}")

    def read(files):
        xs, ys = [], []
        for f in files:
            p = sub / f
            if not p.is_file():
                raise ConfigError("DATA_DIR", str(root), f"a folder holding {f}")
            d = load_pickle(p)
            if not isinstance(d, dict) or b"data" not in d or key not in d:
                raise ConfigError(str(p), "missing data or labels", f"a dict with b'data' and {key!r}")
            try:
                x = np.asarray(d[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
                y = np.asarray(d[key], dtype=np.int64).reshape(-1)
            except (ValueError, TypeError):
                raise ConfigError(str(p), "data of another shape", "[N, 3072] uint8 images and N labels") from None
            if len(x) != len(y):
                raise ConfigError(str(p), f"{len(x)} images, {len(y)} labels", "one label per image")
            xs.append(x)
            ys.append(y)
        return Split(torch.from_numpy(np.concatenate(xs)).float() / 255, torch.from_numpy(np.concatenate(ys)))

    return Data(read(train_files), read(test_files), 10 if name == "cifar10" else 100, 3, 32)


def _digits(size: int, seed: int) -> Data:
    from sklearn.datasets import load_digits
    d = load_digits()
    x = torch.from_numpy(d.images.astype(np.float32) / 16.0).unsqueeze(1)         # [1797, 1, 8, 8]
    x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    y = torch.from_numpy(d.target.astype(np.int64))
    g = torch.Generator().manual_seed(seed)
    perm = torch.randperm(len(y), generator=g)
    n_test = len(y) // 5
    te, tr = perm[:n_test], perm[n_test:]
    return Data(Split(x[tr], y[tr]), Split(x[te], y[te]), 10, 1, size)


def load(name: str = "digits", data_dir: str | None = None, image_size: int = 16, seed: int = 0) -> Data:
    if name not in DATASETS:
        raise ConfigError("DATA", name, f"one of {list(DATASETS)}")
    if name == "digits":
        return _digits(image_size, seed)
    if not data_dir:
        raise ConfigError("DATA_DIR", data_dir, f"the folder holding the {name} python-pickle files")
    return _cifar(Path(data_dir), name)
