"""The ``habmon`` command line: a thin layer over :mod:`habmon.services`.

This module only assembles the app: each command group lives in its own module of :mod:`habmon.cli`
(``setup``, ``plan``, ``indicators``, ``geo``, ``data``, ``engine``, ``audit``, ``submissions``, ``users``, ``web``,
``operations``)
and is registered here with one line.
"""

from __future__ import annotations

from typing import Annotated

import typer

from habmon.cli import audit, data, engine, geo, indicators, operations, plan, setup, submissions, surveys, users, web
from habmon.cli.context import state
from habmon.cli.options import bar

app = typer.Typer(
    help="Habitat Monitor: results-based monitoring of UN-Habitat's Strategic Plan 2026–2029.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def main(
    database: Annotated[
        str | None,
        typer.Option(
            "--database", envvar="HABMON_DATABASE_URL", help="Database URL (default: SQLite in $HABMON_HOME or ./var)."
        ),
    ] = None,
    user: Annotated[
        str, typer.Option("--user", envvar="HABMON_USER", help="Who is acting (recorded in the audit log).")
    ] = "habmon",
) -> None:
    state.database = database
    state.user = user


# commands, in the order `habmon --help` lists them
app.command()(setup.init)
app.command()(setup.demo)
app.command("aggregate")(engine.aggregate_command)
app.command("compute")(engine.compute_command)
app.command("progress")(engine.progress_command)
app.command("lnob")(engine.lnob_command)
app.command("compare")(engine.compare_command)
app.command("submit")(submissions.submit)
app.command("template")(submissions.template)
app.command("serve")(web.serve)
app.command("worker")(operations.worker)
app.command("backup")(operations.backup)
app.command("restore")(operations.restore)

# command groups, one line each
app.add_typer(plan.plan_app, name="plan")
app.add_typer(indicators.indicators_app, name="indicators")
app.add_typer(geo.geo_app, name="geo")
app.add_typer(data.data_app, name="data")
app.add_typer(audit.audit_app, name="audit")
app.add_typer(users.users_app, name="users")
app.add_typer(users.tokens_app, name="tokens")
app.add_typer(submissions.submissions_app, name="submissions")
app.add_typer(submissions.export_app, name="export")
app.add_typer(surveys.surveys_app, name="surveys")
audit.audit_app.command("export")(submissions.audit_export)

__all__ = ["app", "bar"]
