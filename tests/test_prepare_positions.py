"""``prepare`` by row positions: the same arrays as before, the preprocessor's parts equal to scikit-learn's
``ColumnTransformer``, arrays written to files as they are made, and the pieces that avoid whole copies."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.compose import ColumnTransformer

from lib import datasets, preprocess, run
from lib.preprocess import PrepConfig
from lib.preprocess.selection import RowView

#: The sha256 of each prepared array (its ``.npy`` file in a run folder) on the mirror, written by the code before
#: ``prepare`` worked by row positions (commit 70a02b3, its arrays in memory) for the configurations below.
BEFORE = Path(__file__).parent / "fixtures" / "prepared_sha256.json"
ARRAYS = ("X_train", "y_train", "X_val", "y_val", "X_test", "y_test")
#: Min-max configurations only: their arithmetic (a median, a minimum, a scale) gives the same bits on any
#: machine, where a logarithm's last bit may depend on the CPU's math library.
CONFIGS = {
    "cicids2017-multiclass": ("cicids2017", {"label_mode": "multiclass"}),
    "cicids2017-exact-dedup": ("cicids2017", {"label_mode": "binary", "dedup_digits": 0}),
    "iot23-binary": ("iot23", {}),
    "iot23-group": ("iot23", {"split": "group"}),
    "iot23-time-multiclass": ("iot23", {"split": "time", "label_mode": "multiclass"}),
    "iot23-source": ("iot23", {"split": "source"}),
    "botiot-multiclass": ("botiot", {"label_mode": "multiclass"}),
}  # fmt: skip


def npy_sha256(values: np.ndarray) -> str:
    """sha256 of the ``.npy`` file a run folder stores for ``values`` (C order)."""
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(values))
    return hashlib.sha256(buffer.getvalue()).hexdigest()


@pytest.fixture(scope="module")
def frames(mirror):
    return {name: datasets.load(name, data_dir=mirror) for name in ("cicids2017", "iot23", "botiot")}


@pytest.mark.parametrize("name", CONFIGS)
def test_prepare_gives_the_arrays_of_the_code_before(frames, name, tmp_path):
    dataset, config = CONFIGS[name]
    expected = json.loads(BEFORE.read_text())[name]
    data, _, _ = preprocess.prepare(frames[dataset], PrepConfig(**config), out=lambda a: tmp_path / f"{a}.npy")
    assert {a: npy_sha256(getattr(data, a)) for a in ARRAYS} == expected
    for a in ARRAYS:  # written as they were made: the files are np.save's bytes
        assert hashlib.sha256((tmp_path / f"{a}.npy").read_bytes()).hexdigest() == expected[a]


@pytest.mark.parametrize(
    ("dataset", "scaling"), [*(("cicids2017", s) for s in preprocess.SCALINGS), ("iot23", "minmax")]
)
def test_column_pipelines_equal_scikit_learns_column_transformer(frames, dataset, scaling):
    """The parts fitted one at a time give what scikit-learn's ``ColumnTransformer`` of the same pipelines gives
    when fitted on a copy of every training row: the same names and the same bits, for every scaling and for
    categorical (IoT-23's) and ``CATEGORY_COLUMNS`` parts."""
    category = ("Init_Win_bytes_forward",) if dataset == "cicids2017" else ("id.resp_p",)
    cfg = PrepConfig(label_mode="multiclass", scaling=scaling, category_columns=category)
    split = preprocess.split_frame(frames[dataset], cfg)
    rows = {s: split.positions[i] for s, i in split.idx.items()}
    y_train = split.y[split.idx["train"]]
    numeric, categorical, dropped = preprocess.select_features(split.frame, rows["train"], cfg, y_train)
    encoded = preprocess.category_features(cfg, numeric, categorical, dropped)
    assert dataset != "iot23" or categorical  # the one-hot part is tested too
    ours = preprocess.build_preprocessor(numeric, categorical, 32, scaling, encoded, 7, len(rows["train"]))
    theirs = ColumnTransformer(
        [(name, clone(part), columns) for name, part, columns in ours.transformers], verbose_feature_names_out=False
    )
    features = numeric + categorical
    expected = theirs.fit_transform(split.frame.iloc[rows["train"]][features])
    ours.fit_rows(split.frame, rows["train"])
    assert list(ours.get_feature_names_out()) == list(theirs.get_feature_names_out())
    for s in ("train", "test"):
        got = ours.transform(split.frame.iloc[rows[s]][features])
        want = expected if s == "train" else theirs.transform(split.frame.iloc[rows[s]][features])
        assert got.dtype == np.float32 and got.tobytes() == np.asarray(want, dtype=np.float32).tobytes()


def flows(n: int = 600, seed: int = 0) -> pd.DataFrame:
    """Zeek-like labelled flows with numeric, categorical and missing values, some rows copied."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "duration": rng.lognormal(0, 2, n).astype(np.float32),
            "orig_bytes": rng.integers(0, 5000, n).astype(np.float32),
            "resp_pkts": rng.poisson(3, n).astype(np.float32),
            "proto": pd.Categorical(rng.choice(["tcp", "udp", "icmp"], n)),
            "label": pd.Categorical(rng.choice(["Benign", "PortScan", "DDoS"], n, p=[0.5, 0.3, 0.2])),
            "source_file": pd.Categorical(rng.choice(["a.log", "b.log"], n)),
        }
    )
    df.loc[rng.random(n) < 0.05, "orig_bytes"] = np.nan
    df["label_detail"] = df["label"].astype(str)
    df["is_attack"] = (df["label"] != "Benign").astype(np.int8)
    return pd.concat([df, df.iloc[: n // 10]], ignore_index=True)  # copies for the dedup


def test_arrays_written_as_they_are_made_equal_those_in_memory(tmp_path):
    df = flows()
    cfg = PrepConfig(label_mode="multiclass")
    in_memory, _, _ = preprocess.prepare(df, cfg)
    on_disk, _, _ = preprocess.prepare(df, cfg, out=lambda a: tmp_path / f"{a}.npy")
    for a in ARRAYS:
        values = getattr(on_disk, a)
        assert isinstance(values, np.memmap) and not values.flags.writeable
        assert np.array_equal(values, getattr(in_memory, a)) and values.dtype == getattr(in_memory, a).dtype
        assert hashlib.sha256((tmp_path / f"{a}.npy").read_bytes()).hexdigest() == npy_sha256(getattr(in_memory, a))


def test_a_run_folder_counts_the_files_prepare_wrote_as_its_own(tmp_path):
    """The stage adopts the arrays ``prepare`` wrote into it (no second write) and its results are those of a
    stage given the same arrays in memory."""
    df, cfg = flows(), PrepConfig(label_mode="multiclass")
    files = {}
    for name, to_disk in (("disk", True), ("memory", False)):
        stage = run.RunDir(tmp_path / name).begin("prepared", {"SEED": 1})
        data, pre, _ = preprocess.prepare(df, cfg, out=stage.array_file if to_disk else None)
        written = {a: (stage.path / f"{a}.npy").stat().st_mtime_ns for a in ARRAYS} if to_disk else {}
        stage.save_prepared(data, pre)
        assert all((stage.path / f"{a}.npy").stat().st_mtime_ns == t for a, t in written.items())  # not rewritten
        stage.finish()
        files[name] = {k: v for k, v in stage.manifest["files"].items() if k.endswith(".npy")}
    assert files["disk"] == files["memory"] and len(files["disk"]) == len(ARRAYS)
    back = run.RunDir(tmp_path / "disk").load_prepared()
    assert np.array_equal(back.X_train, data.X_train)


def test_an_array_file_takes_its_rows_in_order_and_whole(tmp_path):
    target = preprocess.ArrayFile(tmp_path / "x.npy", (5, 2), np.float32)
    target[0:2] = np.ones((2, 2))
    with pytest.raises(ValueError, match="in order, from row 2"):
        target[3:5] = np.ones((2, 2))
    with pytest.raises(ValueError, match="do not fit"):
        target[2:5] = np.ones((3, 3))
    with pytest.raises(ValueError, match="2 of 5 rows written"):
        target.close()
    whole = preprocess.ArrayFile(tmp_path / "y.npy", (3, 2), np.float32)
    whole[0:3] = np.arange(6).reshape(3, 2)
    assert np.array_equal(whole.close(), np.arange(6, dtype=np.float32).reshape(3, 2))


def test_kept_rows_are_the_rows_deduplicate_keeps():
    df = flows()
    columns = datasets.feature_columns(df)
    kept, counts = preprocess.kept_rows(df, columns)
    frame, frame_counts = preprocess.deduplicate(df, columns)
    assert 0 < len(kept) < len(df) and counts == frame_counts
    pd.testing.assert_frame_equal(df.iloc[kept].reset_index(drop=True), frame)


def test_a_row_view_reads_the_rows_of_one_column_at_a_time():
    df = flows(50)
    rows = np.array([4, 0, 7])
    view = RowView(df, rows)
    assert len(view) == 3 and "duration" in view and "nothing" not in view
    pd.testing.assert_series_equal(view["duration"], df["duration"].iloc[rows].reset_index(drop=True))
    narrow = view[["duration", "proto"]]
    assert list(narrow.columns) == ["duration", "proto"] and len(narrow) == 3
    with pytest.raises(KeyError):
        narrow["label"]


@pytest.mark.parametrize("scaling", preprocess.SCALINGS)
def test_the_numeric_parts_in_one_pass_give_each_parts_own_transform(scaling, tmp_path):
    """The one-pass transform of the numeric parts (missing and infinite values included) gives what each part's
    own steps give, bit for bit, before and after a round trip through the saved file (which holds no plan)."""
    df = flows(900)
    df["orig_bytes"] = df["orig_bytes"].where(np.arange(len(df)) % 13 != 0, np.inf)
    cfg = PrepConfig(label_mode="multiclass", scaling=scaling, category_columns=("resp_pkts",))
    _, pre, _ = preprocess.prepare(df, cfg)
    rows = df[list(pre.feature_names_in_)].iloc[::3]
    expected = np.hstack([part.transform(rows[cols]) for _, part, cols in pre.transformers_]).astype(np.float32)
    assert pre.transform(rows).tobytes() == expected.tobytes()
    assert (pre._plan is None) is (scaling == "quantile")
    preprocess.save_preprocessor(pre, tmp_path / "p.skops")
    back = preprocess.load_preprocessor(tmp_path / "p.skops")
    assert "_plan" not in back.__dict__ and back.transform(rows).tobytes() == expected.tobytes()
