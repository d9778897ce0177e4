"""`python -m skillfoundry` runs the CLI."""

from skillfoundry.cli import main

main()
