"""`python -m pertinent` is the `pertinent` command."""

import sys

try:
    from pertinent.cli import main
except KeyboardInterrupt:  # Ctrl-C while starting up: no traceback for that
    sys.exit(130)

main()
