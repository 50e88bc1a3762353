"""lib/datasets/files.py and cache.py: the data folder is not trusted blindly: no download into a mistyped DATA_DIR, registry
files checked against their sha256 on every read (hashed once per version), cache entries checked against their
record. No network: ``pooch.retrieve`` is replaced in every test that could reach it."""

from __future__ import annotations

import hashlib
import json
import logging

import pandas as pd
import pooch
import pytest
import requests

from lib import datasets, registry
from lib.datasets import DataError, files
from lib.datasets import cache as parse_cache  # (the fixture `cache` is a folder)

SCENARIO = "CTU-Test-Capture-1-1/bro/conn.log.labeled"


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A Parquet cache of this test alone."""
    folder = tmp_path / "cache"
    monkeypatch.setenv(files.CACHE_DIR_ENV, str(folder))
    return folder


@pytest.fixture
def no_network(monkeypatch):
    """Every call to pooch.retrieve, recorded; nothing is downloaded."""
    calls = []
    monkeypatch.setattr(pooch, "retrieve", lambda url, **kwargs: calls.append((url, kwargs)))
    return calls


@pytest.fixture
def default_data_dir(tmp_path, monkeypatch):
    """The project's own data folder, moved to a temporary one; $IOT_BOTNET_DATA_DIR unset."""
    folder = tmp_path / "repo-data"
    monkeypatch.setattr(files, "REPO_DATA_DIR", folder)
    monkeypatch.delenv(files.DATA_DIR_ENV, raising=False)
    return folder


def flow_table(path, n: int = 40):
    frame = pd.DataFrame({"bytes": range(n), "pkts": range(n), "verdict": ["normal", "ddos"] * (n // 2)})
    frame.to_csv(path, index=False)
    return path


def load_table(path) -> pd.DataFrame:
    return datasets.load("csv", files=str(path), label_column="verdict", benign_labels="normal")


def counting_reader(calls: list):
    def reader(path):
        calls.append(path)
        frame = pd.read_csv(path)
        frame.attrs["repairs"] = [{"file": str(path), "column": "", "repair": "none", "count": 1}]
        return frame

    reader.cache_tag = "counting"
    return reader


# ------------------------------------------------------------------------------------------ the Parquet cache
def only_entry(cache) -> tuple:
    (entry,) = cache.glob("*.parquet")
    return entry, entry.with_suffix(".json")


def test_a_clean_cache_hit_does_not_call_the_reader_again_and_keeps_attrs(tmp_path, cache, caplog):
    calls = []
    path = flow_table(tmp_path / "flows.csv")
    cold = parse_cache.read_cached(path, counting_reader(calls), use_cache=True, display="flows.csv")
    with caplog.at_level(logging.WARNING, logger="lib.datasets"):
        warm = parse_cache.read_cached(path, counting_reader(calls), use_cache=True, display="flows.csv")
    assert len(calls) == 1 and not caplog.records
    pd.testing.assert_frame_equal(cold, warm)
    assert warm.attrs["repairs"] == cold.attrs["repairs"] != []
    entry, record = only_entry(cache)
    assert entry.name.endswith(f"-v{parse_cache.PARSER_VERSION}.parquet") and parse_cache.PARSER_VERSION == "2"
    saved = json.loads(record.read_text())
    assert saved["rows"] == 40 and saved["source_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert saved["parquet_sha256"] == hashlib.sha256(entry.read_bytes()).hexdigest()


def test_an_edited_cache_file_is_parsed_again_with_a_warning(tmp_path, cache, caplog):
    path = flow_table(tmp_path / "flows.csv")
    truth = load_table(path)
    entry, _ = only_entry(cache)
    edited = pd.read_parquet(entry).assign(label="Benign", is_attack=0)  # every flow relabelled Benign
    edited.to_parquet(entry, index=False)
    with caplog.at_level(logging.WARNING, logger="lib.datasets"):
        again = load_table(path)
    assert int(again["is_attack"].sum()) == int(truth["is_attack"].sum()) == 20
    pd.testing.assert_frame_equal(again, truth)
    (line,) = [r.getMessage() for r in caplog.records if "cached parse" in r.getMessage()]
    assert (
        str(path) in line and "does not match the sha256 in its record" in line and "parsing the source again" in line
    )
    assert (
        hashlib.sha256(entry.read_bytes()).hexdigest()
        == json.loads(entry.with_suffix(".json").read_text())["parquet_sha256"]
    ), "the entry must be rewritten"


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        ("truncate", "does not match the sha256"),
        ("truncate_and_record", "is unreadable"),
        ("drop_record", "has no readable record"),
        ("garble_record", "has no readable record"),
        ("rows", "has 10 rows where its record says 40"),
    ],
)
def test_a_damaged_cache_entry_is_parsed_again(tmp_path, cache, caplog, damage, reason):
    calls = []
    path = flow_table(tmp_path / "flows.csv")
    first = parse_cache.read_cached(path, counting_reader(calls), use_cache=True, display="flows.csv")
    entry, record = only_entry(cache)
    saved = json.loads(record.read_text())
    if damage.startswith("truncate"):
        entry.write_bytes(entry.read_bytes()[: entry.stat().st_size // 2])
    if damage == "truncate_and_record" or damage == "rows":
        if damage == "rows":
            pd.read_parquet(entry).head(10).to_parquet(entry, index=False)
        saved["parquet_sha256"] = hashlib.sha256(entry.read_bytes()).hexdigest()  # a record that agrees
        record.write_text(json.dumps(saved))
    if damage == "drop_record":
        record.unlink()
    if damage == "garble_record":
        record.write_text("{not json")
    with caplog.at_level(logging.WARNING, logger="lib.datasets"):
        again = parse_cache.read_cached(path, counting_reader(calls), use_cache=True, display="flows.csv")
    assert len(calls) == 2, "the source must be parsed again"
    pd.testing.assert_frame_equal(again, first)
    assert any(reason in r.getMessage() and str(path) in r.getMessage() for r in caplog.records), caplog.text
    caplog.clear()
    parse_cache.read_cached(path, counting_reader(calls), use_cache=True, display="flows.csv")
    assert len(calls) == 2 and not caplog.records, "the rewritten entry is a clean hit"


# ------------------------------------------------------------------------------------- registry sha256 on read
@pytest.fixture
def registered(tmp_path, monkeypatch):
    """A data folder with one IoT-23 file at a registry path, whose registry sha256 is that of its bytes."""
    root = tmp_path / "data" / "iot23"
    path = root / SCENARIO
    path.parent.mkdir(parents=True)
    path.write_bytes(b"#fields\tts\n1.0\n")
    remote = registry.RemoteFile(SCENARIO, None, hashlib.sha256(path.read_bytes()).hexdigest())
    info = registry.DATASETS["iot23"]
    monkeypatch.setitem(registry.DATASETS, "iot23", registry.DatasetInfo(**{**info.__dict__, "files": (remote,)}))
    return root, path, remote.sha256


def test_expected_sha256_is_known_only_at_registry_paths(registered, tmp_path):
    root, path, sha = registered
    assert files.expected_sha256("iot23", path, root) == sha
    assert files.expected_sha256("iot23", root / "x" / ".." / SCENARIO, root) == sha
    assert files.expected_sha256("iot23", tmp_path / SCENARIO, root) is None  # not under <DATA_DIR>/iot23
    assert files.expected_sha256("csv", path, root) is None
    assert files.expected_sha256("cicids2017", path, root) is None  # no published hashes


@pytest.mark.parametrize("use_cache", [True, False])
def test_a_changed_registry_file_is_a_data_error(registered, cache, use_cache):
    root, path, sha = registered
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    calls = []
    with pytest.raises(DataError) as err:
        parse_cache.read_cached(
            path, counting_reader(calls), use_cache, "x", expected_sha256=files.expected_sha256("iot23", path, root)
        )
    message = str(err.value)
    assert str(path) in message and sha in message and hashlib.sha256(path.read_bytes()).hexdigest() in message
    assert "Fix: delete it and download it again" in message and calls == []


def test_an_unchanged_file_is_hashed_once_across_two_loads(tmp_path, cache, monkeypatch):
    hashed = []
    real = files.sha256_file
    monkeypatch.setattr(files, "sha256_file", lambda path, *a: hashed.append(path) or real(path, *a))
    path = flow_table(tmp_path / "flows.csv")
    first, second = load_table(path), load_table(path)
    pd.testing.assert_frame_equal(first, second)
    assert len(hashed) == 1
    assert json.loads((cache / files.HASHES_FILE).read_text())[str(path.resolve())]["sha256"] == real(path)
    flow_table(path, n=60)  # a new version of the file: hashed again, parsed again
    assert len(load_table(path)) == 60 and len(hashed) == 2


def test_the_registry_check_reuses_the_remembered_hash(registered, cache, monkeypatch):
    root, path, sha = registered
    hashed = []
    real = files.sha256_file
    monkeypatch.setattr(files, "sha256_file", lambda p, *a: hashed.append(p) or real(p, *a))
    calls = []

    def reader(p):
        calls.append(p)
        return pd.DataFrame({"ts": [1.0]})

    for _ in range(2):
        parse_cache.read_cached(path, reader, True, "x", expected_sha256=files.expected_sha256("iot23", path, root))
    assert len(hashed) == 1 and len(calls) == 1


# ------------------------------------------------------------------------------------------------ downloads
def test_a_mistyped_data_dir_never_downloads(tmp_path, default_data_dir, no_network):
    typo = tmp_path / "dta"
    with pytest.raises(FileNotFoundError) as err:
        datasets.locate("iot23", typo)
    message = str(err.value)
    assert no_network == [] and not typo.exists()
    assert str(typo / "iot23") in message and registry.IOT23_SCENARIOS[0].relpath in message
    assert "Nothing was downloaded" in message and f'make data DATASET=iot23 DATA_DIR="{typo}"' in message


def test_a_data_dir_from_the_environment_never_downloads(tmp_path, default_data_dir, no_network, monkeypatch):
    monkeypatch.setenv(files.DATA_DIR_ENV, str(tmp_path / "elsewhere"))
    with pytest.raises(FileNotFoundError, match="Fix: check DATA_DIR"):
        datasets.locate("iot23")
    assert no_network == []


def test_the_default_data_dir_downloads_and_says_so_first(default_data_dir, no_network, caplog):
    with caplog.at_level(logging.INFO, logger="lib.datasets"):
        got = datasets.locate("iot23")
    assert len(no_network) == len(got) == len(registry.IOT23_SCENARIOS)
    (line,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith("downloading")]
    assert "downloading 10 of the 10 iot23 files" in line and "mcfp.felk.cvut.cz" in line
    assert str(default_data_dir / "iot23") in line


def test_fetch_downloads_into_any_folder_when_asked(tmp_path, default_data_dir, no_network):
    datasets.fetch("iot23", tmp_path / "chosen")
    assert len(no_network) == 10 and all(str(tmp_path / "chosen") in str(kw["path"]) for _, kw in no_network)


@pytest.mark.parametrize(
    "failure", [requests.exceptions.ConnectionError("Name or service not known"), OSError("No route to host")]
)
def test_a_network_failure_is_a_data_error_with_the_fix(tmp_path, monkeypatch, failure):
    def fail(url, **kwargs):
        raise failure

    monkeypatch.setattr(pooch, "retrieve", fail)
    with pytest.raises(DataError) as err:
        datasets.fetch("iot23", tmp_path)
    message = str(err.value)
    first = registry.IOT23_SCENARIOS[0]
    assert first.url in message and str(tmp_path / "iot23" / first.relpath) in message
    assert "check the internet connection" in message and "download the file by hand and put it at" in message


def test_files_the_data_set_does_not_read_are_named(tmp_path, no_network, caplog):
    root = tmp_path / "iot23"
    (root / SCENARIO).parent.mkdir(parents=True)
    (root / registry.IOT23_SCENARIOS[0].relpath).parent.mkdir(parents=True)
    (root / registry.IOT23_SCENARIOS[0].relpath).write_text("#fields\tts\n")
    for doc in ("PROVENANCE.md", "README", "notes.txt", ".DS_Store", ".hidden/x.log"):
        (root / doc).parent.mkdir(parents=True, exist_ok=True)
        (root / doc).write_text("doc")
    (root / "labeled-conn.log").write_text("#fields\tts\n")
    with caplog.at_level(logging.WARNING, logger="lib.datasets"):
        found = datasets.locate("iot23", tmp_path)
    assert found == [root / registry.IOT23_SCENARIOS[0].relpath]
    (line,) = [r.getMessage() for r in caplog.records]
    assert "1 file(s) not read" in line and "labeled-conn.log" in line and "**/conn.log.labeled" in line
    assert f"DATASET=zeek DATA_FILES={root / 'labeled-conn.log'}" in line
    assert not any(doc in line for doc in ("PROVENANCE", "README", "notes", "DS_Store", "hidden"))
