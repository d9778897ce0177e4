"""`python -m skillfoundry` runs the CLI."""

from skillfoundry.cli import app

app()
