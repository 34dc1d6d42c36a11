"""CLI commands for the cluster side: ``render metallb``, ``metallb import``,
``metallb convert``. Manifests and topology YAML go to stdout, notes to stderr."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer

from routerctl import api
from routerctl.cli_common import RouterOption, TopologyOption, get_topology, safe
from routerctl.commands.render import render_app
from routerctl.metallb.convert import convert_legacy, legacy_config
from routerctl.metallb.importer import import_metallb
from routerctl.metallb.yamlio import dump_documents, load_source
from routerctl.topology import DEFAULT_TOPOLOGY

metallb_app = typer.Typer(
    help="Read MetalLB's own config: import it as a topology, convert the legacy ConfigMap.",
    no_args_is_help=True,
)


class MetallbFormat(str, enum.Enum):
    crds = "crds"
    configmap = "configmap"


FileArgument = Annotated[
    Path,
    typer.Argument(
        metavar="FILE",
        help="MetalLB config: YAML file (a ConfigMap, its config data, or CRDs); - for stdin.",
        show_default=False,
    ),
]


def _note(text: str) -> None:
    typer.echo(f"routerctl: note: {safe(text, markup=False)}", err=True)


@render_app.command("metallb")
def render_metallb(
    topology: TopologyOption = DEFAULT_TOPOLOGY,
    output_format: Annotated[
        MetallbFormat,
        typer.Option(
            "--format",
            "-f",
            help="crds: MetalLB >= 0.13 CRDs; configmap: legacy ConfigMap (MetalLB <= 0.12).",
            case_sensitive=False,
        ),
    ] = MetallbFormat.crds,
    router: RouterOption = None,
    include_secret: Annotated[
        bool,
        typer.Option(
            "--include-secret",
            help="Write the BGP password (a Secret for crds, inline for configmap).",
        ),
    ] = False,
) -> None:
    """MetalLB config derived from the topology, as YAML for `kubectl apply -f -`."""
    topo = get_topology(topology)
    rendered = api.render_metallb(
        topo,
        format=output_format.value,
        router_name=router,
        include_secret=include_secret,
        source=topology,
    )
    for note in rendered.notes:
        _note(note)
    typer.echo(rendered.yaml, nl=False)


@metallb_app.command("convert")
def convert(file: FileArgument) -> None:
    """Legacy MetalLB ConfigMap (or its config data) -> CRDs, as MetalLB's configmaptocrs."""
    docs, source = load_source(file)
    config, namespace = legacy_config(docs, source=source)
    result = convert_legacy(config, namespace=namespace)
    for note in result.notes:
        _note(note)
    header = f"Converted by routerctl from {source} (MetalLB legacy ConfigMap -> CRDs)."
    typer.echo(dump_documents(result.docs, header=header), nl=False)


@metallb_app.command("import")
def import_(file: FileArgument) -> None:
    """Topology YAML derived from an existing MetalLB config (ConfigMap or CRDs)."""
    docs, source = load_source(file)
    result = import_metallb(docs, source=source)
    for note in result.notes:
        _note(note)
    typer.echo(result.text, nl=False)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app (``render metallb`` is on ``render_app``)."""
    app.add_typer(metallb_app, name="metallb")
