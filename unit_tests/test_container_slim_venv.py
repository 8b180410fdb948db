"""container/slim_venv.py's steps that the image build splits in two layers (dependencies, then package)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import tomllib

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("slim_venv", REPO / "container" / "slim_venv.py")
assert _spec and _spec.loader
slim_venv = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(slim_venv)


def test_requirements_are_the_dependencies_and_the_extra_as_pinned() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    got = slim_venv.requirements(REPO / "pyproject.toml", "cloud")
    assert got == project["dependencies"] + project["optional-dependencies"]["cloud"]
    assert all("==" in line for line in got)  # the layer is reused only while the pins say the same


def _dist_info(sp: Path, name: str, requested: bool) -> Path:
    info = sp / f"{name}-1.0.dist-info"
    info.mkdir(parents=True)
    lines = [f"{name}/__init__.py,sha256=x,1", f"{info.name}/METADATA,sha256=y,2", f"{info.name}/RECORD,,"]
    if requested:
        (info / "REQUESTED").write_text("")
        lines.insert(2, f"{info.name}/REQUESTED,sha256=z,0")
    (info / "RECORD").write_text("\n".join(lines) + "\n")
    return info


def test_forget_requested_leaves_what_one_pip_install_of_the_package_leaves(tmp_path: Path) -> None:
    dep = _dist_info(tmp_path, "dep", requested=True)
    other = _dist_info(tmp_path, "other", requested=False)
    before = (other / "RECORD").read_text()
    slim_venv.forget_requested(tmp_path)
    assert not (dep / "REQUESTED").exists()
    assert (dep / "RECORD").read_text() == f"dep/__init__.py,sha256=x,1\n{dep.name}/METADATA,sha256=y,2\n{dep.name}/RECORD,,\n"
    assert (other / "RECORD").read_text() == before


def test_unknown_step_is_a_usage_error(capsys) -> None:
    assert slim_venv.main(["slim_venv.py", "everything", "/opt/solidafy"]) == 2
    assert "requirements PYPROJECT" in capsys.readouterr().err
