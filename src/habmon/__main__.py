"""``python -m habmon`` runs the command line."""

from habmon.cli.main import app

app()
