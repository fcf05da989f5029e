"""The layer contract in pyproject.toml holds for the tree and fails on an import that breaks it.

Each case copies the package to a temporary folder, adds one import that points the wrong way and
runs `lint-imports` (the command the README's test line runs) on the copy.
"""

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "musclemap"


def _lint_imports(src: Path, cwd: Path, *contracts: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("lint-imports")
    assert exe.exists(), f"{exe} missing: install the dev extra (import-linter)"
    env = {**os.environ, "PYTHONPATH": str(src)}
    return subprocess.run(
        [str(exe), "--no-cache", "--no-logo", *(f"--contract={c}" for c in contracts)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    shutil.copytree(PACKAGE, tmp_path / "src" / "musclemap", ignore=shutil.ignore_patterns("*.pyc"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_tree_keeps_every_contract(copy: Path) -> None:
    res = _lint_imports(copy / "src", copy)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "0 broken" in res.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract", "message"),
    [
        # upward: a foundation module reaching the CLI
        (
            "skeleton.py",
            "import musclemap.cli",
            "layers",
            "musclemap.skeleton is not allowed to import musclemap.cli",
        ),
        # upward: data reaching the training engine
        (
            "data/splits.py",
            "from musclemap.engine import losses",
            "layers",
            "musclemap.data is not allowed to import musclemap.engine",
        ),
        # upward: training reusing predict's scorer (now in pose/keypose_model.py)
        (
            "engine/pose_train.py",
            "def _h():\n    from musclemap.predictor import score_poses",
            "layers",
            "musclemap.engine is not allowed to import musclemap.predictor",
        ),
        # the trained-model loader sits below the engine (predict loads runs without it)
        (
            "inference.py",
            "def _i():\n    from musclemap.engine import train",
            "layers",
            "musclemap.inference is not allowed to import musclemap.engine",
        ),
        # sideways: models and pose are independent siblings
        (
            "models/layers.py",
            "from musclemap.pose import tracking",
            "layers",
            "musclemap.models is not allowed to import musclemap.pose",
        ),
        # STYLE.md: models never read a config, even inside a function
        (
            "models/tokens.py",
            "def _f():\n    import musclemap.config",
            "pure",
            "musclemap.models.tokens -> musclemap.config",
        ),
        # a cycle inside a package: the dataset module importing its caller
        (
            "data/manifest.py",
            "def _g():\n    import musclemap.data.datasets",
            "acyclic",
            "- .manifest -> .datasets",
        ),
        # the pose-file format is data's: the skeleton dataset must not reach into pose/
        (
            "data/skeleton_dataset.py",
            "def _h():\n    from musclemap.pose import extract",
            "layers",
            "musclemap.data is not allowed to import musclemap.pose",
        ),
        # pose/: extraction imports the one-process path, never the other way round
        (
            "pose/sequential.py",
            "def _k():\n    import musclemap.pose.extract",
            "acyclic",
            "- .sequential -> .extract",
        ),
    ],
)
def test_wrong_import_breaks_the_contract(
    copy: Path, module: str, line: str, contract: str, message: str
) -> None:
    target = copy / "src" / "musclemap" / module
    assert _lint_imports(copy / "src", copy, contract).returncode == 0  # kept before
    target.write_text(target.read_text() + f"\n{line}\n")
    res = _lint_imports(copy / "src", copy, contract)
    assert res.returncode == 1 and "1 broken" in res.stdout, res.stdout
    assert message in res.stdout, res.stdout


def test_no_test_skips_on_a_broken_import_of_our_own_code() -> None:
    # Skipping on our own package turns a broken import into a skip: CI stays green on breakage.
    pattern = re.compile(r"importorskip\(\s*[\"']musclemap")
    offenders = [
        f"{p.name}:{i}"
        for p in sorted(Path(__file__).parent.glob("*.py"))
        for i, line in enumerate(p.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert offenders == []


def mirror_test_name(module: Path) -> str | None:
    """The test file a module of the package must have, or None for a module without code.

    The rule: `src/musclemap/<p1>/.../<name>.py` is tested by `tests/test_<p1>_..._<name>.py`
    (a top-level module `src/musclemap/<name>.py` by `tests/test_<name>.py`); leading
    underscores are dropped (`models/_registry.py` -> `test_models_registry.py`). A package's
    `__init__.py` is tested by `tests/test_<p1>_..._<pkg>.py` (the root package's public API by
    `tests/test_package_api.py`). A module that defines no function or class (it only imports
    or re-exports, e.g. `demo.py`, most `__init__.py`) and `__main__.py` need none. Other test
    files may exist beside the mirrors for behaviour across modules (test_registry_contract.py,
    test_configs.py, test_reliability_*).
    """
    parts = list(module.relative_to(PACKAGE).with_suffix("").parts)
    tree = ast.parse(module.read_text())
    if parts[-1] == "__main__" or not any(
        isinstance(n, ast.FunctionDef | ast.ClassDef) for n in tree.body
    ):
        return None
    if parts[-1] == "__init__":
        parts = parts[:-1]
        if not parts:
            return "test_package_api.py"
    return "test_" + "_".join(p.lstrip("_") for p in parts) + ".py"


def test_the_mirror_rule() -> None:
    assert mirror_test_name(PACKAGE / "skeleton.py") == "test_skeleton.py"
    assert mirror_test_name(PACKAGE / "models/skeleton/stgcn.py") == "test_models_skeleton_stgcn.py"
    assert mirror_test_name(PACKAGE / "models/_registry.py") == "test_models_registry.py"
    assert mirror_test_name(PACKAGE / "cli/__init__.py") == "test_cli.py"  # defines main()
    assert mirror_test_name(PACKAGE / "__init__.py") == "test_package_api.py"
    assert mirror_test_name(PACKAGE / "data/__init__.py") is None  # empty
    assert mirror_test_name(PACKAGE / "demo.py") is None  # re-exports pose/synthetic.py
    assert mirror_test_name(PACKAGE / "__main__.py") is None


def test_every_module_has_its_mirrored_test_file() -> None:
    tests = {p.name for p in Path(__file__).parent.glob("test_*.py")}
    modules = sorted(PACKAGE.rglob("*.py"))
    assert len(modules) > 100  # the whole package was walked
    missing = [
        f"src/musclemap/{m.relative_to(PACKAGE)} -> tests/{name}"
        for m in modules
        if (name := mirror_test_name(m)) is not None and name not in tests
    ]
    assert missing == [], "modules without their test file (see mirror_test_name):\n" + "\n".join(
        missing
    )
