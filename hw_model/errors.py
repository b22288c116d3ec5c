"""One error type for bad input, and the CLI wrapper that turns what is left at a command's edge into one line
and exit code 2 (a traceback only with --debug or TRIPS_DEBUG=1)."""
from __future__ import annotations

import functools
import os
import sys


class ConfigError(ValueError):
    """Bad user input. The message names the field, the value and what is allowed."""

    def __init__(self, field: str, value, allowed: str):
        self.field, self.value, self.allowed = field, value, allowed
        super().__init__(f"{field}: got {value!r}; allowed: {allowed}")


def one_line(exc: BaseException) -> str | None:
    """The one line for an exception a command reports as bad input or a bad environment, or None (a bug: it
    keeps its traceback)."""
    if isinstance(exc, ConfigError):
        return str(exc)
    if isinstance(exc, UnicodeDecodeError):
        return f"a file is not UTF-8 text (byte {exc.start}: {exc.reason})"
    if isinstance(exc, RecursionError):
        return "an input file is nested too deeply to read"
    if isinstance(exc, OSError):
        where = exc.filename if exc.filename is not None else "a file"
        return f"{where}: {exc.strerror or exc.__class__.__name__}"
    if type(exc).__name__ == "UnpicklingError":       # torch.load(weights_only=True) refusing a file
        return f"a file holds more than data: {str(exc).splitlines()[0][:200]}"
    return None


def debug_requested(argv=None) -> bool:
    args = sys.argv[1:] if argv is None else argv
    return "--debug" in args or os.environ.get("TRIPS_DEBUG") == "1"


def cli_errors(main):
    """Decorate a CLI entry point main(argv=None): bad input prints `error: <one line>` and exits 2."""

    @functools.wraps(main)
    def wrapped(argv=None, *args, **kwargs):
        try:
            return main(argv, *args, **kwargs)
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            sys.exit(130)
        except Exception as exc:
            line = one_line(exc)
            if line is None or debug_requested(argv):
                raise
            print(f"error: {' '.join(line.split())}", file=sys.stderr)
            sys.exit(2)

    return wrapped
