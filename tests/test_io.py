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
