"""Shared fixtures and the three test tiers. Tests that need the real data mirror fail (never skip) when it is absent.

Tiers (pytest markers, set here so that no test can be left out of one):

* ``smoke``: tests that run notebooks through papermill (marked ``@pytest.mark.smoke`` where they are);
* ``browser``: every test of ``tests/test_browser.py`` (notebook 01 in JupyterLab, driven in headless Chromium);
* ``data``: every other test that uses the ``mirror`` fixture (the real-data mirror);
* ``unit``: everything else; no mirror, no notebook, seconds (``make test-unit``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MIRROR = REPO_ROOT.parent / "shared" / "data"


#: Test files whose every test belongs to one tier.
FILE_TIERS = {"test_browser.py": "browser"}

#: The files that take longest (minutes each: whole notebook chains), run first and in this order. ``make test``
#: hands whole files to its processes in collection order (``--dist loadfile --no-loadscope-reorder``): a long
#: file left to the end would run alone while the other process waits.
LONGEST_FIRST = ("test_public_layouts.py", "test_notebooks.py", "test_coursework.py", "test_score.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: the rest keep their order
    for item in items:
        tier = FILE_TIERS.get(item.path.name)
        if tier:
            item.add_marker(getattr(pytest.mark, tier))
        if item.get_closest_marker("smoke") or item.get_closest_marker("browser"):
            continue
        if "mirror" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.data)
        else:
            item.add_marker(pytest.mark.unit)


@pytest.fixture(scope="session")
def mirror() -> Path:
    """The real-data mirror: $IOT_BOTNET_DATA_DIR, else ../shared/data beside the repository."""
    path = Path(os.environ.get("IOT_BOTNET_DATA_DIR") or DEFAULT_MIRROR)
    if not (path / "iot23").is_dir():
        pytest.fail(
            f"real-data mirror not found at {path}: set IOT_BOTNET_DATA_DIR to a folder with the layout of "
            f"shared/data (iot23/, cicids2017/, botiot/)"
        )
    return path


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Each test session parses into its own Parquet cache, never the user's data/cache."""
    monkeypatch.setenv("IOT_BOTNET_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture(scope="session")
def benchmark_script():
    """``load(name)``: the script ``benchmarks/<name>.py`` as a module (each script puts its folder on
    ``sys.path`` for its own ``import common``)."""
    import importlib.util

    folder = Path(__file__).resolve().parent.parent / "benchmarks"

    def load(name: str):
        spec = importlib.util.spec_from_file_location(name, folder / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load
