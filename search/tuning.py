"""Process set-up for training on the CPU.

glibc's malloc hands every large block back to the kernel when it is freed (mmap/munmap above a threshold of at
most 32 MiB), so each step's activations are page-faulted in and zeroed by the kernel anew: measured 12-17 % of a
paper-preset weight step on two cores. PyTorch's CPU performance guide swaps in jemalloc or tcmalloc for this;
glibc's own tunables do the same without a new library: keep freed memory in the process. Tunables are read
when a process starts, so `python -m search` re-executes itself once with them set (same PID, same arguments).
"""
from __future__ import annotations

import os
import sys

MALLOC_TUNABLES = "glibc.malloc.mmap_threshold=4294967296:glibc.malloc.trim_threshold=4294967296"


def malloc_env(env=None) -> dict:
    """`env` (default: this process's) with the malloc tunables added to GLIBC_TUNABLES."""
    env = dict(os.environ if env is None else env)
    have = env.get("GLIBC_TUNABLES", "")
    if MALLOC_TUNABLES not in have:
        env["GLIBC_TUNABLES"] = f"{have}:{MALLOC_TUNABLES}" if have else MALLOC_TUNABLES
    return env


def reexec_with_malloc_tuning(module: str) -> None:
    """Re-run `python -m module <same arguments>` with the tunables set, once (Linux only)."""
    if not sys.platform.startswith("linux") or MALLOC_TUNABLES in os.environ.get("GLIBC_TUNABLES", ""):
        return
    if os.environ.get("TRIPS_MALLOC_REEXEC"):        # set, yet not in effect: never loop
        return
    env = malloc_env()
    env["TRIPS_MALLOC_REEXEC"] = "1"
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, "-m", module, *sys.argv[1:]], env)
