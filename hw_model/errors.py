"""One error type for bad input, and the CLI wrapper that turns it into one line and exit code 2."""
from __future__ import annotations

import functools
import sys


class ConfigError(ValueError):
    """Bad user input. The message names the field, the value and what is allowed."""

    def __init__(self, field: str, value, allowed: str):
        self.field, self.value, self.allowed = field, value, allowed
        super().__init__(f"{field}: got {value!r}; allowed: {allowed}")


def cli_errors(main):
    """Decorate a CLI entry point: bad input prints `error: <one line>` and exits 2, no traceback."""

    @functools.wraps(main)
    def wrapped(*args, **kwargs):
        try:
            return main(*args, **kwargs)
        except ConfigError as exc:
            print(f"error: {exc}", file=sys.stderr)
            sys.exit(2)
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            sys.exit(130)

    return wrapped
