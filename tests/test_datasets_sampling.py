"""SAMPLE_ROWS drawn while loading (lib/datasets/sampling.py, ``datasets.load(sample_rows=...)``): the cache
entries' label columns choose the rows and only those rows are read, row group by row group. The rows, values,
dtypes and ``attrs`` are those of sampling the whole frame in memory (``preprocess.sample_rows``), for real files,
for files written to the cache in chunks, and for data sets of several files; only a categorical's categories may
differ (those of the row groups read, for a file cached in chunks), never its values."""

from __future__ import annotations

import corpus
import numpy as np
import pandas as pd
import pytest

from lib import datasets, preprocess
from lib.datasets import cache as parse_cache  # (the fixture `cache` is a folder)
from lib.datasets import files, sampling, stream

KIB = 1024


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv(files.CACHE_DIR_ENV, str(folder))
    return folder


def assert_same_frames(sampled: pd.DataFrame, expected: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(
        sampled.reset_index(drop=True), expected.reset_index(drop=True), check_categorical=False
    )
    for key in ("repairs", "files", "missing_columns", "label_columns", "identifier_columns"):
        assert sampled.attrs.get(key) == expected.attrs.get(key), key


# ------------------------------------------------------------------------------------------------ positions
def test_the_draw_does_not_depend_on_how_the_labels_are_stored():
    rng = np.random.default_rng(0)
    labels = pd.Series(rng.choice(["b", "a", "c", "d"], size=5000, p=[0.4, 0.4, 0.15, 0.05]))
    as_category = labels.astype(pd.CategoricalDtype(["d", "c", "b", "a"]))
    first = sampling.stratified_positions(labels, 500, seed=7)
    assert np.array_equal(first, sampling.stratified_positions(as_category, 500, seed=7))
    assert np.all(np.diff(first) > 0)
    assert not np.array_equal(first, sampling.stratified_positions(labels, 500, seed=8))


def test_ties_draw_in_name_order_and_rare_classes_keep_the_floor():
    labels = pd.Series(["y"] * 1000 + ["x"] * 1000 + ["rare"] * 25)
    assert list(sampling.class_order(labels).index) == ["x", "y", "rare"]
    kept = labels.iloc[sampling.stratified_positions(labels, 100, seed=1)].value_counts()
    assert kept.to_dict() == {"x": 49, "y": 49, "rare": sampling.FLOOR}
    assert sampling.stratified_positions(labels, 0, seed=1) is None
    assert sampling.stratified_positions(labels, len(labels), seed=1) is None


# ------------------------------------------------------------------------------------------------ rows of an entry
@pytest.mark.parametrize("chunk_bytes", [None, 16 * KIB])
def test_rows_of_an_entry_are_those_of_the_whole_entry(tmp_path, cache, monkeypatch, chunk_bytes):
    log = corpus.write_ctu_zeek(tmp_path).files[0]
    if chunk_bytes:
        monkeypatch.setattr(stream, "STREAM_BYTES", chunk_bytes)
        monkeypatch.setattr(stream, "CHUNK_BYTES", chunk_bytes)
    entry = datasets.cache_entry(log, datasets.read_zeek_conn)
    whole = parse_cache.read_entry(entry)
    groups = parse_cache.pq.ParquetFile(entry).num_row_groups
    assert (groups > 3) if chunk_bytes else groups == 1
    for positions in (np.array([0, 1, len(whole) - 1]), np.arange(3, len(whole), 7), np.array([], dtype=np.int64)):
        rows = parse_cache.read_entry_rows(entry, positions)
        expected = whole.iloc[positions].reset_index(drop=True)
        # the same values; a categorical's categories are those of the row groups read (whole: all groups')
        pd.testing.assert_frame_equal(rows, expected, check_categorical=bool(not chunk_bytes and len(positions)))
        assert rows.attrs == whole.attrs


# ------------------------------------------------------------------------------------------------ load(sample_rows=)
@pytest.mark.parametrize("chunk_bytes", [None, 16 * KIB])
def test_a_sample_drawn_while_loading_is_the_sample_of_the_loaded_frame(tmp_path, cache, monkeypatch, chunk_bytes):
    logs = [corpus.write_ctu_zeek(tmp_path / name, seed=seed).files[0] for seed, name in enumerate(("one", "two"))]
    if chunk_bytes:
        monkeypatch.setattr(stream, "STREAM_BYTES", chunk_bytes)
        monkeypatch.setattr(stream, "CHUNK_BYTES", chunk_bytes)
    paths = ",".join(map(str, logs))
    whole = datasets.load("zeek", files=paths)
    n = len(whole) // 5
    sampled = datasets.load("zeek", files=paths, sample_rows=n, seed=3)
    assert sampled.attrs["sample"] == {"sample_rows": n, "seed": 3, "rows_read": len(whole), "rows_kept": len(sampled)}
    assert abs(len(sampled) - n) <= sampling.FLOOR * whole["label"].nunique()
    assert_same_frames(sampled, preprocess.sample_rows(whole, n, seed=3))
    no_cache = datasets.load("zeek", files=paths, sample_rows=n, seed=3, use_cache=False)
    assert_same_frames(no_cache, sampled)
    assert no_cache.attrs["sample"] == sampled.attrs["sample"]


def test_a_sample_as_large_as_the_data_set_is_the_data_set(tmp_path, cache):
    log = corpus.write_ctu_zeek(tmp_path).files[0]
    whole = datasets.load("zeek", files=str(log))
    everything = datasets.load("zeek", files=str(log), sample_rows=len(whole) + 1, seed=0)
    assert "sample" not in everything.attrs
    assert_same_frames(everything, whole)


def test_prepare_keeps_a_loaded_sample_and_counts_every_row_read(tmp_path, cache):
    log = corpus.write_ctu_zeek(tmp_path).files[0]
    whole = datasets.load("zeek", files=str(log))
    n = len(whole) // 3
    sampled = datasets.load("zeek", files=str(log), sample_rows=n, seed=42)
    config = preprocess.PrepConfig(sample_rows=n, seed=42)
    from_sample = preprocess.prepare(sampled, config)
    from_whole = preprocess.prepare(whole, config)
    assert from_sample[2].rows_loaded == from_whole[2].rows_loaded == len(whole)
    assert from_sample[2].rows_after_sample == from_whole[2].rows_after_sample == len(sampled)
    np.testing.assert_array_equal(from_sample[0].X_train, from_whole[0].X_train)
    with pytest.raises(ValueError, match=r"already a sample \(SAMPLE_ROWS=.*SEED=42\).*Fix"):
        preprocess.prepare(sampled, preprocess.PrepConfig(sample_rows=n, seed=43))


def test_sampling_the_mirror_while_loading_gives_the_rows_of_the_in_memory_sample(mirror):
    for dataset, n in (("cicids2017", 20000), ("iot23", 3000), ("botiot", 2000)):
        whole = datasets.load(dataset, mirror)
        sampled = datasets.load(dataset, mirror, sample_rows=n, seed=42)
        assert sampled.attrs["sample"]["rows_read"] == len(whole)
        assert_same_frames(sampled, preprocess.sample_rows(whole, n, seed=42))


def test_a_file_with_no_labelled_row_takes_part_in_a_sample(tmp_path, cache):
    log = corpus.write_ctu_zeek(tmp_path / "mixed").files[0]
    lines = log.read_text().splitlines()
    body = [line for line in lines if not line.startswith("#")]
    only_background = [line for line in body if "Background" in line]
    assert only_background and len(only_background) < len(body)
    quiet = tmp_path / "quiet" / "labeled-conn.log"
    quiet.parent.mkdir()
    quiet.write_text(
        "\n".join([line for line in lines if line.startswith("#")][:-1] + only_background + lines[-1:]) + "\n"
    )
    paths = f"{log},{quiet}"
    whole = datasets.load("zeek", files=paths)
    n = len(whole) // 4
    sampled = datasets.load("zeek", files=paths, sample_rows=n, seed=1)
    assert sampled.attrs["sample"]["rows_read"] == len(whole)
    assert_same_frames(sampled, preprocess.sample_rows(whole, n, seed=1))


def test_ranks_found_block_by_block_are_the_draw_from_the_class_positions(monkeypatch):
    rng = np.random.default_rng(3)
    labels = pd.Series(rng.choice(["a", "b", "c"], size=10_000, p=[0.7, 0.25, 0.05]))
    values = labels.to_numpy()

    def by_position_arrays(seed: int) -> np.ndarray:  # the draw as it was: numpy's choice from each class's positions
        draw = np.random.default_rng(seed)
        parts = []
        for cls, count in sampling.class_order(labels).items():
            take = min(int(count), max(int(round(700 * int(count) / len(labels))), sampling.FLOOR))
            parts.append(draw.choice(np.flatnonzero(values == cls), size=take, replace=False))
        return np.sort(np.concatenate(parts))

    monkeypatch.setattr(sampling, "BLOCK", 999)  # many blocks, class runs cut at block edges
    for seed in (0, 1, 42):
        np.testing.assert_array_equal(sampling.stratified_positions(labels, 700, seed), by_position_arrays(seed))
