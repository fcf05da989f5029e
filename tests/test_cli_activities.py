"""`musclemap activities`: one activity's groups as a table or JSON, the list with filters,
unknown names as one line with close matches, usage errors."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from musclemap.activities import activity_labels, load_knowledge_base
from musclemap.cli import app
from musclemap.errors import UnknownActivityError

runner = CliRunner()


def test_cli_shows_groups() -> None:
    result = runner.invoke(app, ["activities", "push-ups"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0].split() == ["push_up", "(upper", "push)"]
    rows = [[c.strip() for c in line.split("│")[1:-1]] for line in result.output.splitlines()
            if line.startswith("│")]
    # One row per group of the activity, nothing else (not a table of all 20 groups).
    assert rows == [
        ["chest", "chest", "primary", "pectoralis major"],
        ["shoulder", "shoulder", "secondary", "deltoid"],
        ["triceps", "triceps", "secondary", "triceps brachii"],
    ]


def test_cli_json() -> None:
    result = runner.invoke(app, ["activities", "Diamond push ups", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["name"] == "diamond_push_up"
    assert set(data["groups"]) == set(data["primary"]) | set(data["secondary"])
    assert data["labels"] == [int(v) for v in activity_labels("diamond_push_up")]


def test_cli_list_and_json_list() -> None:
    result = runner.invoke(app, ["activities", "--list", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["count"] == len(data["activities"]) == len(load_knowledge_base()) + 873
    sources = {a["source"] for a in data["activities"]}
    assert sources == {"curated", "free-exercise-db"}
    result = runner.invoke(app, ["activities", "--list", "--json", "--source", "curated"])
    assert json.loads(result.output)["count"] == len(load_knowledge_base())
    result = runner.invoke(app, ["activities", "--list", "--category", "carry"])
    assert result.exit_code == 0 and "farmer_walk" in result.output
    assert "activities" in result.output.splitlines()[0]


def test_cli_unknown_raises_and_usage_errors() -> None:
    result = runner.invoke(app, ["activities", "pushupz"])
    assert isinstance(result.exception, UnknownActivityError)
    assert "push_up" in str(result.exception)
    assert runner.invoke(app, ["activities"]).exit_code == 2
    assert runner.invoke(app, ["activities", "plank", "--list"]).exit_code == 2


def test_console_script_one_line_error(run_cli) -> None:
    proc = run_cli("activities", "pushupz")
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: unknown activity 'pushupz'; did you mean push_up")
    assert proc.stdout == ""
