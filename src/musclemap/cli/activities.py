"""`musclemap activities NAME | --list`: the activity knowledge base on the command line."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from musclemap.cli.app import app

if TYPE_CHECKING:
    from musclemap.activities import Activity


def _activity_dict(act: Activity) -> dict:
    return {
        "name": act.name,
        "category": act.category,
        "primary": list(act.primary),
        "secondary": list(act.secondary),
        "groups": list(act.groups),
        "aliases": list(act.aliases),
        "labels": [int(v) for v in act.labels()],
    }


def _print_activity(act: Activity) -> None:
    from rich.console import Console
    from rich.table import Table

    from musclemap.taxonomy import MUSCLE_GROUPS

    table = Table(title=f"{act.name} ({act.category})", title_justify="left")
    for column in ("group", "name", "role", "muscles"):
        table.add_column(column)
    for group in MUSCLE_GROUPS:
        role = act.role(group.id)
        if role:
            style = "bold" if role == "primary" else ""
            table.add_row(group.id, group.name, role, ", ".join(group.muscles), style=style)
    console = Console()
    console.print(table)
    if act.aliases:
        console.print(f"aliases: {', '.join(act.aliases)}")


def _print_list(acts: list[Activity]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{len(acts)} activities", title_justify="left")
    for column in ("activity", "category", "primary", "secondary"):
        table.add_column(column)
    for act in acts:
        table.add_row(act.name, act.category, ", ".join(act.primary), ", ".join(act.secondary))
    Console().print(table)


@app.command("activities")
def activities(
    name: Annotated[
        str | None, typer.Argument(help="Activity name or alias (e.g. 'push-ups').")
    ] = None,
    list_all: Annotated[bool, typer.Option("--list", help="List every activity.")] = False,
    category: Annotated[
        str | None, typer.Option(help="With --list: only this category (e.g. 'core').")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")] = False,
) -> None:
    """Show the muscle groups an activity works, or list the knowledge base."""
    from musclemap.activities import list_activities, load_knowledge_base, lookup
    from musclemap.errors import UnknownActivityError

    if list_all == (name is not None):
        raise typer.BadParameter("give an activity NAME or --list (not both)")
    if name is not None:
        act = lookup(name)
        if as_json:
            typer.echo(json.dumps(_activity_dict(act), indent=2))
        else:
            _print_activity(act)
        return
    acts = list_activities(category)
    if category is not None and not acts:
        known = sorted({a.category for a in load_knowledge_base().values()})
        raise UnknownActivityError(
            f"no activities in category {category!r}; categories: {', '.join(known)}"
        )
    if as_json:
        payload = {"count": len(acts), "activities": [_activity_dict(a) for a in acts]}
        typer.echo(json.dumps(payload, indent=2))
    else:
        _print_list(acts)
