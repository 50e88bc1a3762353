"""lib/io.py: skops files load only the types their reader trusts (nothing is unpickled)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.preprocessing import FunctionTransformer

from lib import io


def _not_ours(X):
    return X


def test_a_skops_file_with_types_we_never_write_is_refused(tmp_path):
    path = tmp_path / "evil.skops"
    io.dump_skops(FunctionTransformer(_not_ours), path)
    with pytest.raises(ValueError, match=r"refusing to load types this project never writes: \['test_io\._not_ours'\]"):
        io.load_skops(path)
    with pytest.raises(ValueError, match=r"\['test_io\._not_ours'\]"):
        io.load_skops(path, trusted=["sklearn.tree._tree.Tree", "test_run._not_ours"])  # others' types do not help
    loaded = io.load_skops(path, trusted=["test_io._not_ours"])  # a type its reader names is loaded
    np.testing.assert_array_equal(loaded.transform(np.eye(2)), np.eye(2))


def test_a_model_folder_is_written_into_an_empty_place_only(tmp_path):
    """A writer of a model folder never writes over an earlier one: its files would survive beside the new ones."""
    assert io.empty_folder(tmp_path / "new").is_dir()
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "old.keras").write_bytes(b"x")
    with pytest.raises(ValueError, match="is not empty"):
        io.empty_folder(tmp_path / "used")


def test_atomic_folder_replaces_the_whole_folder_or_nothing(tmp_path):
    target = tmp_path / "pipeline"
    io.atomic_folder(target, lambda tmp: (tmp / "a.txt").write_text("first"))

    def half(tmp):
        (tmp / "b.txt").write_text("second")
        raise RuntimeError("killed half-way")

    with pytest.raises(RuntimeError):
        io.atomic_folder(target, half)
    assert sorted(p.name for p in target.iterdir()) == ["a.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["pipeline"]  # no partial folder left behind
