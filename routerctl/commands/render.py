"""CLI commands: ``render router`` and the ``render`` group (``render metallb`` is
added to ``render_app`` by ``routerctl.commands.metallb``)."""

from __future__ import annotations

import typer

render_app = typer.Typer(
    help="Render config derived from the topology (router side, cluster side).",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.add_typer(render_app, name="render")
