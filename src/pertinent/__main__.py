"""`python -m pertinent` is the `pertinent` command."""

from pertinent.cli import main

main()
