"""Where the data is: the data folder, downloads checked against their sha256, file lists, and the Parquet
cache of parsed files (keyed by the source file's sha256, the reader's ``cache_tag`` and :data:`PARSER_VERSION`).

Nothing here is trusted blindly:

* **Downloads** happen on their own only into the project's ``data/`` folder (:func:`locate`); a ``DATA_DIR``
  with no data is an error naming what it should hold, so a typo never starts a download into a new folder.
  :func:`fetch` (``make data``) is the explicit download. Network failures and checksum mismatches are
  :class:`DataError` with the address, the target path and the fix.
* **Registry files** are checked against the registry's sha256 each time they are read, not only when they
  are downloaded (:func:`expected_sha256`, ``_read_cached``). The hash is remembered per file version in
  ``cache_dir()/hashes.json`` (:func:`file_sha256`), so an unchanged file is hashed once.
* **Cache entries** carry a record of their source's sha256, their row count and their own sha256; an entry
  that does not match its record is logged, parsed again and rewritten (``_read_cached``). The check streams
  the entry through sha256 and counts its rows from the Parquet footer, without loading it.
* **Large files** (over ``stream.STREAM_BYTES``) go into their entry chunk by chunk, as row groups of one
  schema written by ``pyarrow.parquet.ParquetWriter``, in bounded memory (:func:`cache_entry`); their record
  also says how many chunks (the entries of smaller files are written whole, exactly as before).
"""

from __future__ import annotations

import glob
import gzip
import hashlib
import io
import itertools
import json
import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from lib import progress, registry
from lib.datasets.errors import DataError
from lib.datasets.stream import combine_frames, merge_repairs

log = logging.getLogger(__package__)

DATA_DIR_ENV = "IOT_BOTNET_DATA_DIR"
CACHE_DIR_ENV = "IOT_BOTNET_CACHE_DIR"
REPO_DATA_DIR = Path(__file__).resolve().parent.parent.parent / "data"  # lib/datasets/files.py -> <repo>/data
PARSER_VERSION = "2"  # bump when a reader's output changes, so cached Parquet files are rebuilt
HASHES_FILE = "hashes.json"  # in cache_dir(): sha256 of source files by (path, size, mtime, ctime)


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """``data_dir`` if given, else ``$IOT_BOTNET_DATA_DIR``, else the project's ``data/`` folder."""
    chosen = data_dir or os.environ.get(DATA_DIR_ENV) or REPO_DATA_DIR
    return Path(chosen).expanduser().resolve()


def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_DIR_ENV) or REPO_DATA_DIR / "cache")


def sha256_file(path: str | os.PathLike, chunk_size: int = 1 << 22) -> str:
    """sha256 of the bytes of ``path``, read in chunks (always hashes; :func:`file_sha256` remembers)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def _read_json(path: Path) -> dict | None:
    """The JSON object in ``path``; None if the file is missing, unreadable or not an object."""
    try:
        value = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary name beside ``path``, then rename: readers see the old file or the new."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def file_sha256(path: str | os.PathLike, remember: bool = True) -> str:
    """sha256 of ``path``, hashed once per version of the file.

    Hashes are remembered in ``cache_dir()/hashes.json`` by resolved path, size, modification time and
    inode change time (``ctime``, which no tool can set back, unlike the modification time): a second load of
    an unchanged file does not read it again, and any write to it (even one that restores the size and
    modification time) makes it hashed anew. ``remember=False`` always hashes and neither reads nor writes
    the record (``use_cache=False`` in :func:`lib.datasets.load`).
    """
    path = Path(path)
    if not remember:
        return sha256_file(path)
    st = path.stat()  # before hashing: a write during the hash changes it, so the next call hashes again
    stamp = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "ctime_ns": st.st_ctime_ns}
    key = str(path.resolve())
    record_file = cache_dir() / HASHES_FILE
    record = _read_json(record_file) or {}
    known = record.get(key)
    if isinstance(known, dict) and {k: known.get(k) for k in stamp} == stamp and _is_sha256(known.get("sha256")):
        return known["sha256"]
    digest = sha256_file(path)
    record = {k: v for k, v in (_read_json(record_file) or {}).items() if Path(k).exists()}  # others' entries too
    record[key] = {**stamp, "sha256": digest}
    try:
        _write_atomic(record_file, json.dumps(record, indent=1, sort_keys=True).encode())
    except OSError as err:  # a read-only cache folder costs a hash per load, nothing else
        log.debug("could not record the sha256 of %s in %s: %s", path, record_file, err)
    return digest


def _is_sha256(value: object) -> bool:
    return isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)


def expected_sha256(dataset: str, path: str | os.PathLike, root: str | os.PathLike) -> str | None:
    """The registry's sha256 of ``path`` if it sits at a registry path of ``dataset`` under ``root`` (the
    folder ``<DATA_DIR>/<dataset>``), else None: files elsewhere (``DATA_FILES``) and files without a
    published hash are not checked."""
    info = registry.DATASETS.get(dataset)
    known = {f.relpath: f.sha256 for f in (info.files if info else ()) if f.sha256}
    if not known:
        return None
    path, root = Path(path), Path(root)
    for where in {Path(os.path.abspath(path)), path.resolve()}:  # as given, and with links followed
        for base in {Path(os.path.abspath(root)), root.resolve()}:
            try:
                relpath = where.relative_to(base).as_posix()
            except ValueError:
                continue
            if relpath in known:
                return known[relpath]
    return None


def fetch(
    dataset: str,
    data_dir: str | os.PathLike | None = None,
    downloader: Callable | None = None,
) -> list[Path]:
    """Make sure every registry file of ``dataset`` with an official address is in ``data_dir``.

    The explicit download (``make data``): it downloads into whatever folder it is given, where :func:`locate`
    downloads only into the project's own ``data/``. Missing files are downloaded with pooch and their sha256
    checked; a file already present is checked too. A failed download is a :class:`DataError` naming the
    address, the target path and the fix. ``downloader`` is passed on to :func:`pooch.retrieve` (tests use it
    to serve bytes locally).
    """
    import pooch  # only needed when something has to be fetched

    info = registry.DATASETS[dataset]
    root = resolve_data_dir(data_dir) / dataset
    missing = [remote for remote in info.files if remote.url and not (root / remote.relpath).exists()]
    if missing:
        hosts = ", ".join(sorted({urlsplit(remote.url).netloc for remote in missing}))
        log.info(
            "downloading %d of the %d %s files (sizes are not in the registry) from %s into %s",
            len(missing), len(info.files), dataset, hosts, root,
        )  # fmt: skip
    paths = []
    for remote in progress.bar(info.files, desc=f"fetch {dataset}", unit="file", disable=not info.files):
        target = root / remote.relpath
        if target.exists():
            verify_checksum(target, remote.sha256)
        elif remote.url:
            _download(pooch, remote, target, downloader)
        else:
            raise FileNotFoundError(f"{target} not found and it has no download address. {info.manual_download}")
        paths.append(target)
    return paths


def _download(pooch: Any, remote: registry.RemoteFile, target: Path, downloader: Callable | None) -> None:
    """One registry file to ``target`` with pooch; every failure becomes a :class:`DataError` with its fix."""
    import requests

    try:
        pooch.retrieve(
            remote.url,
            known_hash=f"sha256:{remote.sha256}" if remote.sha256 else None,
            fname=target.name,
            path=target.parent,
            downloader=downloader,
            progressbar=downloader is None,
        )
    except (requests.exceptions.RequestException, OSError) as err:  # before ValueError: some are both
        raise DataError(
            f"could not download {remote.url} to {target}: {type(err).__name__}: {err}. Fix: check the internet "
            f"connection (can this machine reach {urlsplit(remote.url).netloc}?) and retry, or download the file "
            f"by hand and put it at {target}"
        ) from err
    except ValueError as err:  # pooch reports a hash mismatch as ValueError
        raise DataError(
            f"download of {remote.url} failed its checksum: {err}. The file on the server differs from "
            f"the one this project was built on; nothing was kept. Fix: retry later, or put a verified "
            f"copy at {target}"
        ) from err


def verify_checksum(path: Path, expected: str | None) -> str:
    """sha256 of ``path`` (remembered, see :func:`file_sha256`); :class:`DataError` if it is not ``expected``
    (when one is known)."""
    actual = file_sha256(path)
    if expected and actual != expected:
        raise DataError(
            f"{path}: sha256 {actual} does not match the official {expected}. The file is corrupted, truncated or "
            f"was modified (line endings?). Fix: delete it and download it again (`make data`)"
        )
    return actual


def locate(dataset: str, data_dir: str | os.PathLike | None = None, download: bool = True) -> list[Path]:
    """Every data file of ``dataset`` under ``<data_dir>/<dataset>/`` (those its registry ``file_glob`` takes).

    When there is none, the registry's files are downloaded only if ``download`` and the data folder is the
    project's own ``data/`` (neither ``data_dir`` nor ``$IOT_BOTNET_DATA_DIR`` given): a mistyped DATA_DIR
    is a :class:`FileNotFoundError` naming the folder and what it should hold, never a download into a new
    folder. Downloading elsewhere is asked for explicitly (:func:`fetch`, ``make data DATA_DIR=...``). Files
    in the folder that ``file_glob`` does not take are named in a warning, with how to read them.
    """
    info = registry.DATASETS[dataset]
    data_root = resolve_data_dir(data_dir)
    root = data_root / dataset
    found = sorted(p for p in root.glob(info.file_glob) if p.is_file())
    _warn_unread_files(dataset, root, info.file_glob, found)
    if found:
        return found
    if not info.files:
        how = info.manual_download or f"put the files under {root}"
        raise FileNotFoundError(f"no {dataset} files ({info.file_glob}) found under {root}. {how}")
    shown = [str(root / remote.relpath) for remote in info.files[:2]]
    expected = ", ".join(shown) + (f" and {len(info.files) - 2} more" if len(info.files) > 2 else "")
    is_default = data_root == REPO_DATA_DIR.resolve()
    if is_default and download:
        return fetch(dataset, data_dir)
    if is_default:
        raise FileNotFoundError(
            f"no {dataset} files found under {root}: it should hold {expected}. Fix: download them with "
            f"`make data DATASET={dataset}`, or point DATA_DIR (or ${DATA_DIR_ENV}) at a folder that holds them"
        )
    raise FileNotFoundError(
        f"no {dataset} files found under {root}: it should hold {expected}. Nothing was downloaded, because "
        f"{data_root} is not the project's data folder ({REPO_DATA_DIR}) and a mistyped DATA_DIR must not start a "
        f"download. Fix: check DATA_DIR (or ${DATA_DIR_ENV}); to download the files there on purpose, run "
        f'`make data DATASET={dataset} DATA_DIR="{data_root}"`'
    )


def _is_documentation(relpath: Path) -> bool:
    """README*, PROVENANCE*, *.md and *.txt files and anything hidden (dotfiles, dot-folders)."""
    name = relpath.name.upper()
    hidden = any(part.startswith(".") for part in relpath.parts)
    return hidden or name.startswith(("README", "PROVENANCE")) or relpath.suffix.lower() in (".md", ".txt")


def _warn_unread_files(dataset: str, root: Path, file_glob: str, found: list[Path]) -> None:
    """Log the files under ``root`` that ``file_glob`` does not take (documentation and dotfiles aside)."""
    if not root.is_dir():
        return
    taken = set(found)
    unread = [
        p
        for p in sorted(root.rglob("*"))
        if p not in taken and p.is_file() and not _is_documentation(p.relative_to(root))
    ]
    if unread:
        reader = "zeek" if registry.DATASETS[dataset].format.startswith("zeek") else dataset  # any Zeek conn log
        log.warning(
            "%s: %d file(s) not read: DATASET=%s reads only %s there: %s%s. To read them, name them: "
            "DATASET=%s DATA_FILES=%s",
            root, len(unread), dataset, file_glob, ", ".join(str(p.relative_to(root)) for p in unread[:10]),
            f" and {len(unread) - 10} more" if len(unread) > 10 else "", reader, ",".join(str(p) for p in unread[:3]),
        )  # fmt: skip


TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".parquet")


def is_table(path: Path) -> bool:
    """A CSV, TSV, text or Parquet file, plain or gzip (``flows.csv.gz``)."""
    suffixes = [s.lower() for s in path.suffixes]
    while suffixes and suffixes[-1] == ".gz":
        suffixes.pop()
    return bool(suffixes) and suffixes[-1] in TABLE_SUFFIXES


def is_zeek_log(path: Path) -> bool:
    """A Zeek TSV log (plain or gzip, any name): it starts with ``#separator`` or ``#fields``."""
    try:
        with open(path, "rb") as fh:
            start = fh.read(2)
        opener = gzip.open if start == b"\x1f\x8b" else open
        with opener(path, "rb") as fh:
            head = fh.read(64)
    except (OSError, EOFError):
        return False
    return head.startswith((b"#separator", b"#fields"))


def expand_files(
    spec: str | Iterable[str | os.PathLike],
    folder_glob: str | None = None,
    accept: Callable[[Path], bool] = is_table,
) -> list[Path]:
    """Paths from a comma-separated string or a list; glob patterns are expanded, and folders searched for
    ``folder_glob``, or else for every file that ``accept`` takes (default: CSV, TSV, text and Parquet
    files, plain or ``.gz``). Files a folder holds but ``accept`` refuses are named in a log line."""
    items = [s.strip() for s in spec.split(",")] if isinstance(spec, str) else [str(s) for s in spec]
    paths: list[Path] = []
    for item in filter(None, items):
        p = Path(item).expanduser()
        if p.is_dir() and folder_glob:
            paths += sorted(q for q in p.glob(folder_glob) if q.is_file())
        elif p.is_dir():
            found = sorted(q for q in p.rglob("*") if q.is_file() and not q.name.startswith("."))
            taken = [q for q in found if accept(q)]
            skipped = [q.name for q in found if q not in taken]
            if skipped:
                log.warning("%s: %d file(s) not read (not data files of this kind): %s", p, len(skipped),
                            ", ".join(skipped[:10]))  # fmt: skip
            paths += taken
        elif any(ch in item for ch in "*?["):
            paths += sorted(Path(m) for m in glob.glob(item, recursive=True) if Path(m).is_file())
        elif p.exists():
            paths.append(p)
        else:
            raise FileNotFoundError(f"{item}: no such file. Fix: check DATA_FILES (comma-separated paths or globs)")
    if not paths:
        raise FileNotFoundError(f"DATA_FILES={spec!r} matched no data file. Fix: check the paths and the DATASET")
    return paths


# --------------------------------------------------------------------------------------------------
# The Parquet cache of parsed files
# --------------------------------------------------------------------------------------------------
def _display_name(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root))
    except ValueError:
        return path.name


def _read_cached(
    path: Path,
    reader: Callable[[Path], pd.DataFrame],
    use_cache: bool,
    display: str,
    expected_sha256: str | None = None,
) -> pd.DataFrame:
    """``reader(path)`` with a ``source_file`` column, through the Parquet cache when ``use_cache``.

    ``expected_sha256`` (the registry's hash, :func:`expected_sha256`) is checked first, with or without the
    cache: a mismatch is a :class:`DataError`. A cache entry is ``<reader>-<sha256 of the source>-v<version>``:
    the Parquet file and a JSON record written after it (the source's path, sha256 and row count, and the
    sha256 of the Parquet bytes). An entry whose record is missing or does not match, or whose file is
    unreadable, is logged as a warning, parsed again from the source and rewritten: an edited or truncated
    cache never reaches a notebook. (The record guards against accidents, not against someone who rewrites
    both files.) A file the reader parses in chunks (``reader.chunks``, a file larger than
    :data:`lib.datasets.stream.STREAM_BYTES`) is written to its entry chunk by chunk (:func:`cache_entry`) and
    read back from it.
    """
    path = Path(path)
    digest = _source_sha256(path, use_cache, expected_sha256)
    if not use_cache:
        frame = reader(path)
    else:
        entry = _entry_path(reader, digest)
        frame = _cache_get(entry, path, digest)
        if frame is None:
            frame = _cache_build(entry, reader, path, digest)
        if frame is None:  # written chunk by chunk: read back from the entry
            frame = _read_entry(entry)
    frame["source_file"] = _constant_categorical(display, len(frame))
    return frame


def cache_entry(
    path: str | os.PathLike, reader: Callable[[Path], pd.DataFrame], expected_sha256: str | None = None
) -> Path:
    """The Parquet cache entry of ``path`` as ``reader`` parses it, written first if it is missing or does not
    match its record (see :func:`_read_cached`), without loading it: a file that ``reader`` parses in chunks
    (``reader.chunks``, larger than :data:`lib.datasets.stream.STREAM_BYTES`) is streamed into the entry chunk
    by chunk in bounded memory. For tools that read the entries themselves (benchmarks, queries over Parquet)."""
    path = Path(path)
    digest = _source_sha256(path, True, expected_sha256)
    entry = _entry_path(reader, digest)
    problem = _entry_problem(entry, digest)
    if problem:
        if entry.exists():
            log.warning("%s: the cached parse %s %s; parsing the source again", path, entry, problem)
        _cache_build(entry, reader, path, digest)
    return entry


def _source_sha256(path: Path, use_cache: bool, expected_sha256: str | None) -> str | None:
    """The source's sha256 (remembered when ``use_cache``; None when neither the cache nor a check needs it);
    a :class:`DataError` if it is not ``expected_sha256``."""
    digest = file_sha256(path, remember=use_cache) if use_cache or expected_sha256 else None
    if expected_sha256 and digest != expected_sha256:
        raise DataError(
            f"{path}: sha256 {digest} does not match the registry's {expected_sha256} for this file. It is "
            f"corrupted, truncated or was modified (line endings?). Fix: delete it and download it again "
            f"(`make data`); to read a modified copy on purpose, move it out of the data folder and name it in "
            f"DATA_FILES"
        )
    return digest


def _entry_path(reader: Callable, source_sha256: str) -> Path:
    return (
        cache_dir() / f"{getattr(reader, 'cache_tag', reader.__name__)}-{source_sha256[:24]}-v{PARSER_VERSION}.parquet"
    )


def _cache_build(entry: Path, reader: Callable, source: Path, source_sha256: str) -> pd.DataFrame | None:
    """Parse ``source`` into ``entry``. Returns the frame when it was parsed whole (the reader has no
    ``chunks``, or the file is one chunk: written as before, :func:`_cache_put`); None when it was written
    chunk by chunk (:func:`_cache_put_chunks`) and is only on disk."""
    chunks = getattr(reader, "chunks", None)
    if chunks is None:
        frame = reader(source)
        _cache_put(entry, frame, source, source_sha256)
        return frame
    frames = iter(chunks(source))
    head = list(itertools.islice(frames, 2))
    if len(head) < 2:
        frame = combine_frames(head, source)
        _cache_put(entry, frame, source, source_sha256)
        return frame
    frames = itertools.chain(head, frames)
    del head  # each frame is held only until it is written
    _cache_put_chunks(entry, frames, source, source_sha256)
    return None


def _cache_get(entry: Path, source: Path, source_sha256: str) -> pd.DataFrame | None:
    """The frame cached in ``entry`` if its record vouches for it; None (with a warning saying why) if not."""
    if not entry.exists():
        return None
    problem = _entry_problem(entry, source_sha256)
    if not problem:
        try:
            return _read_entry(entry)
        except Exception as err:  # any failure to read a cache file means: parse the source again
            problem = f"is unreadable ({type(err).__name__}: {err})"
    log.warning("%s: the cached parse %s %s; parsing the source again", source, entry, problem)
    return None


def _entry_problem(entry: Path, source_sha256: str) -> str:
    """What is wrong with the cache entry (its record, its sha256, its row count), or "" if nothing; the
    Parquet file is hashed as a stream and its rows counted from its footer, not loaded."""
    if not entry.exists():
        return "does not exist"
    record_file = entry.with_suffix(".json")
    record = _read_json(record_file)
    if record is None:
        return f"has no readable record {record_file.name}"
    if record.get("source_sha256") != source_sha256:
        return "was made from other bytes than this source file"
    with open(entry, "rb") as fh:
        if hashlib.file_digest(fh, "sha256").hexdigest() != record.get("parquet_sha256"):
            return "does not match the sha256 in its record (edited or corrupted)"
        fh.seek(0)
        try:
            rows = pq.ParquetFile(fh).metadata.num_rows
        except Exception as err:  # any failure to read a cache file means: parse the source again
            return f"is unreadable ({type(err).__name__}: {err})"
    if rows != record.get("rows"):
        return f"has {rows} rows where its record says {record.get('rows')}"
    return ""


def _read_entry(entry: Path) -> pd.DataFrame:
    """The frame in a cache entry, with the ``attrs`` stored in its footer (:func:`_as_cached`)."""
    stored = pq.ParquetFile(entry).metadata.metadata or {}  # attrs: pandas' key, or the chunk writer's footer
    table = pq.read_table(entry)
    # column by column, each Arrow column freed once converted: the table and the frame never coexist whole
    frame = table.to_pandas(split_blocks=True, self_destruct=True)
    del table
    return _as_cached(frame, entry, stored)


def _as_cached(frame: pd.DataFrame, entry: Path, stored: dict) -> pd.DataFrame:
    """``frame`` read from ``entry``, given the ``attrs`` of the entry's footer metadata ``stored``; for an entry
    written in chunks (its record says how many), its categories sorted, as a whole-file parse has them (each
    chunk brought its own)."""
    frame.attrs = json.loads(stored[_ATTRS_KEY]) if _ATTRS_KEY in stored else {}
    if (_read_json(entry.with_suffix(".json")) or {}).get("chunks"):
        for col in frame.columns:
            if isinstance(frame[col].dtype, pd.CategoricalDtype):
                frame[col] = frame[col].cat.reorder_categories(frame[col].cat.categories.sort_values())
    return frame


def entry_column(entry: Path, column: str) -> pd.Series:
    """One column of a cache entry as a categorical (read dictionary-encoded: codes, not a string per row, even
    for a column stored as plain text, such as a Zeek log's labels)."""
    table = pq.read_table(entry, columns=[column], read_dictionary=[column])
    return table.column(0).to_pandas() if table.num_rows else pd.Series([], dtype=object, name=column)


def _read_entry_rows(entry: Path, positions: np.ndarray) -> pd.DataFrame:
    """``_read_entry(entry).iloc[positions]`` (sorted positions) without loading the entry: each row group is
    read, cut to the positions it holds and dropped before the next, so memory is one row group plus the rows
    kept."""
    parquet = pq.ParquetFile(entry)
    metadata = parquet.metadata
    starts = np.cumsum([0] + [metadata.row_group(g).num_rows for g in range(metadata.num_row_groups)])
    tables = []
    for group in range(metadata.num_row_groups):
        lo, hi = np.searchsorted(positions, starts[group : group + 2])
        if hi > lo:
            tables.append(parquet.read_row_group(group).take(pa.array(positions[lo:hi] - starts[group])))
    schema = parquet.schema_arrow
    if not tables:  # no row: the first group's, cut to none (its dictionaries give the categories)
        tables = [parquet.read_row_group(0).slice(0, 0) if metadata.num_row_groups else schema.empty_table()]
    table = pa.concat_tables(tables)
    frame = table.replace_schema_metadata(schema.metadata).to_pandas()
    return _as_cached(frame, entry, metadata.metadata or {})


def _cache_put(entry: Path, frame: pd.DataFrame, source: Path, source_sha256: str) -> None:
    """Write ``frame`` to ``entry``, then its record (each atomically): a reader sees a whole entry or none."""
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)  # keeps frame.attrs (repairs, identifier columns)
    data = buffer.getvalue()
    record = {
        "source": str(source),
        "source_sha256": source_sha256,
        "rows": len(frame),
        "parquet_sha256": hashlib.sha256(data).hexdigest(),
        "parser_version": PARSER_VERSION,
    }
    _write_atomic(entry, data)
    _write_atomic(entry.with_suffix(".json"), json.dumps(record, indent=1, sort_keys=True).encode())


_ATTRS_KEY = b"PANDAS_ATTRS"  # where pandas keeps a frame's attrs in a Parquet file's key-value metadata


def _cache_put_chunks(entry: Path, frames: Iterable[pd.DataFrame], source: Path, source_sha256: str) -> None:
    """Write the frames of a file's chunks to ``entry`` as row groups of one Parquet file, one frame at a time
    (:class:`pyarrow.parquet.ParquetWriter`), then its record: the schema is the first frame's
    (:func:`_chunk_schema`), the ``attrs`` (repairs summed over the chunks) go in the footer, and the record
    says how many chunks there were. Atomic like :func:`_cache_put`."""
    entry.parent.mkdir(parents=True, exist_ok=True)
    tmp = entry.with_name(f".{entry.name}.{os.getpid()}.partial")
    rows, chunks, attrs, writer = 0, 0, {}, None
    try:
        for frame in frames:
            if writer is None:
                schema = _chunk_schema(frame)
                writer = pq.ParquetWriter(tmp, schema)
                attrs = dict(frame.attrs)
            elif "repairs" in attrs:
                attrs["repairs"] = merge_repairs([attrs["repairs"], frame.attrs.get("repairs", [])])
            writer.write_table(_chunk_table(frame, schema, source, rows))
            rows, chunks = rows + len(frame), chunks + 1
            del frame  # not held while the next chunk is parsed
        if writer is None:
            raise DataError(f"{source}: no chunk of the file had records")
        if attrs:
            writer.add_key_value_metadata({_ATTRS_KEY.decode(): json.dumps(attrs)})
        writer.close()
        writer = None
        parquet_sha256 = sha256_file(tmp)
        os.replace(tmp, entry)
    finally:
        if writer is not None:
            writer.close()
        tmp.unlink(missing_ok=True)
    record = {
        "source": str(source),
        "source_sha256": source_sha256,
        "rows": rows,
        "parquet_sha256": parquet_sha256,
        "parser_version": PARSER_VERSION,
        "chunks": chunks,
    }
    _write_atomic(entry.with_suffix(".json"), json.dumps(record, indent=1, sort_keys=True).encode())


def _chunk_schema(frame: pd.DataFrame) -> pa.Schema:
    """The Arrow schema of every chunk of a file, from its first chunk: categoricals as dictionary<int32,
    string> (each chunk has its own categories), text as string (a column with no value in the first chunk
    too), numbers as their dtypes; the pandas metadata without ``attrs`` (they go in the footer at the end)."""
    plain = frame.iloc[:0].copy()
    plain.attrs = {}
    schema = pa.Schema.from_pandas(plain, preserve_index=False)
    return pa.schema([_chunk_field(field) for field in schema], metadata=schema.metadata)


def _chunk_field(field: pa.Field) -> pa.Field:
    text = (pa.types.is_string, pa.types.is_large_string, pa.types.is_null)
    if pa.types.is_dictionary(field.type):
        values = pa.string() if any(is_text(field.type.value_type) for is_text in text) else field.type.value_type
        return field.with_type(pa.dictionary(pa.int32(), values))
    if any(is_text(field.type) for is_text in text):
        return field.with_type(pa.string())
    return field


def _chunk_table(frame: pd.DataFrame, schema: pa.Schema, source: Path, rows_before: int) -> pa.Table:
    """One chunk's frame as a table of ``schema``; a :class:`DataError` if a column does not fit it (a
    column whose type the parser infers, numbers in one chunk and text in another)."""
    if list(frame.columns) != schema.names:
        raise DataError(
            f"{source}: rows {rows_before + 1:,}-{rows_before + len(frame):,} have the columns "
            f"{list(frame.columns)}, not those of the file's first rows {schema.names}. Fix: read the file whole "
            f"(raise lib.datasets.stream.STREAM_BYTES above its size)"
        )
    try:
        return pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as err:
        raise DataError(
            f"{source}: rows {rows_before + 1:,}-{rows_before + len(frame):,} do not fit the column types of the "
            f"file's first rows ({err}). A column changes type within the file (numbers, then text?). Fix: correct "
            f"the file, or read it whole (raise lib.datasets.stream.STREAM_BYTES above its size)"
        ) from err


def _constant_categorical(value: str, n: int) -> pd.Categorical:
    """``pd.Categorical([value] * n)`` without building the list (with ``value`` as its category even when
    ``n`` is 0, so an empty frame still names its file)."""
    return pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), categories=[value])
