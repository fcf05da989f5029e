from typer.testing import CliRunner

from musclemap.cli import app
from musclemap.data.manifest import read_manifest

runner = CliRunner()


def test_folds_written(tmp_path, manifest):
    res = runner.invoke(
        app, ["data", "split", str(manifest), "--out", str(tmp_path / "f.csv"), "--folds", "3"]
    )
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in tmp_path.glob("f_fold*.csv")) == [
        "f_fold0.csv",
        "f_fold1.csv",
        "f_fold2.csv",
    ]
    # every activity is new (held out) in exactly one fold, and never trained on there
    new_in: dict[str, int] = {}
    for k in range(3):
        rows = read_manifest(tmp_path / f"f_fold{k}.csv")
        new = {r.activity for r in rows if r.split.endswith("_new")}
        assert not new & {r.activity for r in rows if r.split == "train"}
        for a in new:
            new_in[a] = new_in.get(a, 0) + 1
    assert new_in == {f"act{a}": 1 for a in range(12)}


def test_validate_reports_missing_files_and_exits_1(manifest, run_cli):
    res = run_cli("data", "validate", manifest, "--no-decode")
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert "36 problem(s)" in res.stdout and "lines 2-37" in res.stdout  # no clip exists


def test_wild_manifest_validates(wild_dir, run_cli):
    res = run_cli("data", "validate", wild_dir / "manifest.csv", "--no-decode")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "180 clips, 88 activities" in res.stdout
