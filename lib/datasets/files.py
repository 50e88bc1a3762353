"""Where the data is: the data folder, downloads checked against their sha256, file lists, and the Parquet
cache of parsed files (keyed by the source file's sha256, the reader's ``cache_tag`` and :data:`PARSER_VERSION`).
"""

from __future__ import annotations

import glob
import hashlib
import os
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from lib import registry
from lib.datasets.errors import DataError

DATA_DIR_ENV = "IOT_BOTNET_DATA_DIR"
CACHE_DIR_ENV = "IOT_BOTNET_CACHE_DIR"
REPO_DATA_DIR = Path(__file__).resolve().parent.parent.parent / "data"  # lib/datasets/files.py -> <repo>/data
PARSER_VERSION = "1"  # bump when a reader's output changes, so cached Parquet files are rebuilt


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """``data_dir`` if given, else ``$IOT_BOTNET_DATA_DIR``, else the project's ``data/`` folder."""
    chosen = data_dir or os.environ.get(DATA_DIR_ENV) or REPO_DATA_DIR
    return Path(chosen).expanduser().resolve()


def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_DIR_ENV) or REPO_DATA_DIR / "cache")


def sha256_file(path: str | os.PathLike, chunk_size: int = 1 << 22) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def fetch(
    dataset: str,
    data_dir: str | os.PathLike | None = None,
    downloader: Callable | None = None,
) -> list[Path]:
    """Make sure every registry file of ``dataset`` with an official address is in ``data_dir``.

    Missing files are downloaded with pooch and their sha256 checked; a file already present is checked
    too. ``downloader`` is passed on to :func:`pooch.retrieve` (tests use it to serve bytes locally).
    """
    import pooch  # only needed when something has to be fetched

    info = registry.DATASETS[dataset]
    root = resolve_data_dir(data_dir) / dataset
    paths = []
    for remote in tqdm(info.files, desc=f"fetch {dataset}", unit="file", disable=not info.files):
        target = root / remote.relpath
        if target.exists():
            verify_checksum(target, remote.sha256)
        else:
            try:
                pooch.retrieve(
                    remote.url,
                    known_hash=f"sha256:{remote.sha256}" if remote.sha256 else None,
                    fname=target.name,
                    path=target.parent,
                    downloader=downloader,
                    progressbar=downloader is None,
                )
            except ValueError as err:  # pooch reports a hash mismatch as ValueError
                raise DataError(
                    f"download of {remote.url} failed its checksum: {err}. The file on the server differs from "
                    f"the one this project was built on; nothing was kept. Fix: retry later, or put a verified "
                    f"copy at {target}"
                ) from err
        paths.append(target)
    return paths


def verify_checksum(path: Path, expected: str | None) -> str:
    """sha256 of ``path``; :class:`DataError` if it is not ``expected`` (when one is known)."""
    actual = sha256_file(path)
    if expected and actual != expected:
        raise DataError(
            f"{path}: sha256 {actual} does not match the official {expected}. The file is corrupted or was "
            f"modified (line endings?). Fix: delete it and download it again."
        )
    return actual


def locate(dataset: str, data_dir: str | os.PathLike | None = None, download: bool = True) -> list[Path]:
    """Every data file of ``dataset`` under ``<data_dir>/<dataset>/`` (downloading it if allowed and possible)."""
    info = registry.DATASETS[dataset]
    root = resolve_data_dir(data_dir) / dataset
    found = sorted(p for p in root.glob(info.file_glob) if p.is_file())
    if found:
        return found
    if info.files and download:
        return fetch(dataset, data_dir)
    how = info.manual_download or f"download it (`make data DATASET={dataset}`) or set {DATA_DIR_ENV}"
    raise FileNotFoundError(f"no {dataset} files found under {root}. {how}")


def expand_files(spec: str | Iterable[str | os.PathLike], folder_glob: str | None = None) -> list[Path]:
    """Paths from a comma-separated string or a list; glob patterns are expanded, and folders searched for
    ``folder_glob`` (default: CSV, TSV and Parquet files)."""
    items = [s.strip() for s in spec.split(",")] if isinstance(spec, str) else [str(s) for s in spec]
    paths: list[Path] = []
    for item in filter(None, items):
        p = Path(item).expanduser()
        if p.is_dir() and folder_glob:
            paths += sorted(q for q in p.glob(folder_glob) if q.is_file())
        elif p.is_dir():
            paths += sorted(q for q in p.rglob("*") if q.is_file() and q.suffix.lower() in {".csv", ".tsv", ".parquet"})
        elif any(ch in item for ch in "*?["):
            paths += sorted(Path(m) for m in glob.glob(item, recursive=True))
        elif p.exists():
            paths.append(p)
        else:
            raise FileNotFoundError(f"{item}: no such file. Fix: check DATA_FILES (comma-separated paths or globs)")
    if not paths:
        raise FileNotFoundError(f"DATA_FILES={spec!r} matched no file")
    return paths


# --------------------------------------------------------------------------------------------------
# The Parquet cache of parsed files
# --------------------------------------------------------------------------------------------------
def _display_name(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root))
    except ValueError:
        return path.name


def _read_cached(path: Path, reader: Callable[[Path], pd.DataFrame], use_cache: bool, display: str) -> pd.DataFrame:
    if not use_cache:
        frame = reader(path)
    else:
        key = f"{getattr(reader, 'cache_tag', reader.__name__)}-{sha256_file(path)[:24]}-v{PARSER_VERSION}.parquet"
        cached = cache_dir() / key
        if cached.exists():
            frame = pd.read_parquet(cached)
        else:
            frame = reader(path)
            cached.parent.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_suffix(".tmp")
            frame.to_parquet(tmp, index=False)
            tmp.replace(cached)
    frame["source_file"] = _constant_categorical(display, len(frame))
    return frame


def _constant_categorical(value: str, n: int) -> pd.Categorical:
    """``pd.Categorical([value] * n)`` without building the list."""
    if n == 0:
        return pd.Categorical([])
    return pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), categories=[value])
