"""The command line. Each command parses, calls one part, and shapes the answer; errors are
one red line that says what to do, never a traceback.

Commands live in one module per subject; importing them registers them on the root app.
"""

from __future__ import annotations

import sys

from pertinent.cli import (  # noqa: F401  (registers their commands)
    delivery,
    experiments,
    imports,
    journeys,
    keys,
    recommend,
    run,
    segments,
    templates,
)
from pertinent.cli.root import app, err
from pertinent.errors import PertinentError

__all__ = ["app", "main"]


def main() -> None:
    try:
        app()
    except PertinentError as exc:
        err.print(f"[red]error:[/red] {exc}", soft_wrap=True)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
