"""`musclemap activities NAME | --list`: the activity knowledge base on the command line."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated

import typer

from musclemap.cli.app import StdoutConsole, app

if TYPE_CHECKING:
    from musclemap.activities import Activity


def _activity_dict(act: Activity) -> dict:
    from musclemap.activities import canonical_exercise

    return {
        "name": act.name,
        "source": act.source,
        "category": act.category,
        "kind": act.kind,
        "primary": list(act.primary),
        "secondary": list(act.secondary),
        "stretched": list(act.stretched),
        "groups": list(act.groups),
        "aliases": list(act.aliases),
        "labels": [int(v) for v in act.labels()],
        "same_as": act.same_as,
        "canonical": canonical_exercise(act.name, source=act.source),
        "record": None if act.record is None else asdict(act.record),
    }


def _print_activity(act: Activity) -> None:
    from rich.table import Table

    from musclemap.activities import variants_of
    from musclemap.taxonomy import MUSCLE_GROUPS

    table = Table(title=f"{act.name} ({act.category})", title_justify="left")
    for column in ("group", "name", "role", "muscles"):
        table.add_column(column)
    for group in MUSCLE_GROUPS:
        role = act.role(group.id)
        if role:
            style = "bold" if role == "primary" else ""
            table.add_row(group.id, group.name, role, ", ".join(group.muscles), style=style)
    console = StdoutConsole()
    console.print(table)
    if act.kind == "stretch":
        console.print("a stretch: these groups are stretched, not working (no labels)")
    if act.source == "curated" and act.aliases:
        console.print(f"aliases: {', '.join(act.aliases)}")
    if act.record is not None:
        rec = act.record
        console.print(
            f"source: {rec.source} id {rec.id} ({rec.name!r}; {rec.category}, "
            f"equipment {rec.equipment or '-'}, {rec.level or '-'}); authors' muscles: primary "
            f"{', '.join(rec.primary_muscles) or '-'}, secondary "
            f"{', '.join(rec.secondary_muscles) or '-'}"
        )
    if act.same_as:
        console.print(f"same exercise as: {act.same_as}")
    variants = variants_of(act.name) if act.source == "curated" else []
    if variants:
        names = ", ".join(v.record.name if v.record else v.name for v in variants)
        console.print(f"same exercise in free-exercise-db ({len(variants)}): {names}")


def _print_list(acts: list[Activity]) -> None:
    from rich.table import Table

    table = Table(title=f"{len(acts)} activities", title_justify="left")
    for column in ("activity", "source", "category", "primary", "secondary", "same as"):
        table.add_column(column)
    for act in acts:
        primary = ", ".join(act.primary) or (
            f"stretches {', '.join(act.stretched)}" if act.stretched else ""
        )
        table.add_row(
            act.name, act.source, act.category, primary, ", ".join(act.secondary), act.same_as
        )
    StdoutConsole().print(table)


@app.command("activities")
def activities(
    name: Annotated[
        str | None,
        typer.Argument(help="Activity name, alias or Free Exercise DB name/id (e.g. 'push-ups')."),
    ] = None,
    list_all: Annotated[bool, typer.Option("--list", help="List every activity.")] = False,
    category: Annotated[
        str | None, typer.Option(help="With --list: only this category (e.g. 'core').")
    ] = None,
    source: Annotated[
        str | None,
        typer.Option(help="Only 'curated' or 'free-exercise-db' entries (default: both)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")] = False,
) -> None:
    """Show the muscle groups an activity works, or list the knowledge base.

    The knowledge base holds 222 curated activities and the 873 exercises of the Free Exercise
    DB (public domain; a curated name wins when both spell alike, use --source to reach the
    other); a library stretch lists the groups it stretches, not working ones.
    """
    from musclemap.activities import list_activities, lookup
    from musclemap.errors import UnknownActivityError

    if list_all == (name is not None):
        raise typer.BadParameter("give an activity NAME or --list (not both)")
    if name is not None:
        act = lookup(name, source=source)
        if as_json:
            typer.echo(json.dumps(_activity_dict(act), indent=2))
        else:
            _print_activity(act)
        return
    acts = list_activities(category, source=source)
    if category is not None and not acts:
        known = sorted({a.category for a in list_activities(source=source)})
        raise UnknownActivityError(
            f"no activities in category {category!r}; categories: {', '.join(known)}"
        )
    if as_json:
        payload = {"count": len(acts), "activities": [_activity_dict(a) for a in acts]}
        typer.echo(json.dumps(payload, indent=2))
    else:
        _print_list(acts)
