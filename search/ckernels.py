"""MixQuant's elementwise passes as one C sweep each (search/mixquant.c), built on first use with the system C
compiler and loaded with ctypes (the call releases the GIL; the C code splits the work over torch's intra-op
thread count).

On the paper preset's CPU weight step, MixQuant's torch form is a third of the step: a dozen memory-bound passes
and a Python loop over cache-sized slices per tensor. The C form reads its input once and writes its output once.
It is used for dense float32 CPU tensors; anything else, a machine with no C compiler, or TRIPS_NO_CKERNELS=1
takes the torch form (search/supernet.py), which the tests hold it equal to.

The shared object is cached under $XDG_CACHE_HOME/trips (or ~/.cache/trips), named by a hash of the source, the
flags and the CPU's feature flags (it is built for the machine it runs on), written to a temporary file and
renamed into place.
"""
from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

SOURCE = Path(__file__).with_name("mixquant.c")
FLAGS = ["-O3", "-march=native", "-fno-math-errno", "-fno-trapping-math", "-shared", "-fPIC", "-fopenmp"]
MAXJ = 8
_lib = None
_tried = False


def _cpu_flags() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                return line
    except OSError:
        pass
    return platform.processor()


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "trips"


def _build() -> ctypes.CDLL | None:
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        return None
    key = hashlib.sha256(SOURCE.read_bytes() + " ".join([cc, *FLAGS]).encode() + _cpu_flags().encode()
                         + platform.machine().encode()).hexdigest()[:16]
    so = _cache_dir() / f"mixquant_{key}.so"
    if not so.exists():
        so.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(suffix=".so", dir=so.parent)
        os.close(fd)
        try:
            r = subprocess.run([cc, *FLAGS, str(SOURCE), "-o", tmp, "-lm"], capture_output=True, text=True)
            if r.returncode != 0:
                print(f"search: C kernels not built ({cc}: {r.stderr.strip().splitlines()[-1:]}); "
                      "using the torch form", file=sys.stderr)
                return None
            os.replace(tmp, so)
            for old in so.parent.glob("mixquant_*.so"):     # earlier sources' builds (a loaded one stays mapped)
                if old != so:
                    old.unlink(missing_ok=True)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    try:
        lib = ctypes.CDLL(str(so))
    except OSError as e:            # e.g. an OpenMP runtime that does not resolve beside torch's
        print(f"search: C kernels not loaded ({e}); using the torch form", file=sys.stderr)
        return None
    f32p, f64p, i64 = ctypes.POINTER(ctypes.c_float), ctypes.POINTER(ctypes.c_double), ctypes.c_int64
    lib.mixq_forward.argtypes = [ctypes.c_void_p, ctypes.c_void_p, i64, ctypes.c_int, f32p, f32p, f32p, f32p,
                                 ctypes.c_int]
    lib.mixq_backward.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, i64, ctypes.c_float,
                                  ctypes.c_int, f32p, f32p, f32p, ctypes.c_int, f32p, f32p, f32p, f64p, ctypes.c_int]
    return lib


def lib() -> ctypes.CDLL | None:
    """The loaded kernels, or None (no compiler, a failed build, or TRIPS_NO_CKERNELS=1)."""
    global _lib, _tried
    if os.environ.get("TRIPS_NO_CKERNELS") == "1":
        return None
    if not _tried:
        _tried = True
        _lib = _build()
    return _lib


def usable(*ts: torch.Tensor) -> bool:
    """Whether the C kernels take these tensors: dense float32 on the CPU (one memory order for all)."""
    if lib() is None:
        return False
    t0 = ts[0]
    return all(t.device.type == "cpu" and t.dtype == torch.float32 and t.shape == t0.shape
               and t.stride() == t0.stride()
               and (t.is_contiguous() or t.is_contiguous(memory_format=torch.channels_last)) for t in ts)


def _f32(v) -> ctypes.Array:
    return (ctypes.c_float * max(1, len(v)))(*v)


def forward(x: torch.Tensor, ws, s, lo, hi) -> torch.Tensor:
    """sum_j ws_j * clamp(round(x / s_j), lo_j, hi_j), x dense float32 (the output has x's memory order)."""
    out = torch.empty_like(x)
    if len(s) > MAXJ:
        raise ValueError(f"bits: {len(s)} bit-widths; at most {MAXJ}")
    lib().mixq_forward(x.data_ptr(), out.data_ptr(), x.numel(), len(s), _f32(ws), _f32(s), _f32(lo), _f32(hi),
                       torch.get_num_threads())
    return out


def backward(g: torch.Tensor, x: torch.Tensor, want_x: bool, free: float, masked, want_w: bool, s, lo, hi):
    """(g * (free + sum over (w, a, b) in masked of w * [a <= x < b]) or None,
    [sum g * clamp(round(x / s_j), lo_j, hi_j) for each j] or None); g and x dense in one memory order."""
    gx = torch.empty_like(x) if want_x else None
    gw = (ctypes.c_double * len(s))() if want_w else None
    lib().mixq_backward(g.data_ptr(), x.data_ptr(), gx.data_ptr() if want_x else None, x.numel(), free,
                        len(masked), _f32([m[0] for m in masked]), _f32([m[1] for m in masked]),
                        _f32([m[2] for m in masked]), len(s), _f32(s), _f32(lo), _f32(hi), gw,
                        torch.get_num_threads())
    return gx, (list(gw) if want_w else None)
