import subprocess
import sys

from typer.testing import CliRunner

from musclemap.cli import app
from musclemap.data.manifest import read_manifest

runner = CliRunner()


def musclemap(*args, cwd=None):
    """Run the real console entry point (error handling included) in a subprocess."""
    code = "import sys; from musclemap.cli import main; sys.argv[0] = 'musclemap'; main()"
    return subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


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


def test_wild_manifest_validates(wild_dir):
    res = musclemap("data", "validate", wild_dir / "manifest.csv", "--no-decode")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "180 clips, 88 activities" in res.stdout
