"""Where the data is: the data folder, downloads checked against their sha256, and file lists. The Parquet
cache of parsed files is ``cache.py``.

Nothing here is trusted blindly:

* **Downloads** happen on their own only into the project's ``data/`` folder (:func:`locate`); a ``DATA_DIR``
  with no data is an error naming what it should hold, so a typo never starts a download into a new folder.
  :func:`fetch` (``make data``) is the explicit download. Network failures and checksum mismatches are
  :class:`DataError` with the address, the target path and the fix.
* **Registry files** are checked against the registry's sha256 each time they are read, not only when they
  are downloaded (:func:`expected_sha256`, :func:`lib.datasets.cache.read_cached`). The hash is remembered per
  file version in ``cache_dir()/hashes.json`` (:func:`file_sha256`), so an unchanged file is hashed once.
"""

from __future__ import annotations

import glob
import gzip
import json
import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from lib import progress, registry
from lib.datasets.errors import DataError
from lib.io import sha256_file, write_bytes

log = logging.getLogger(__package__)

DATA_DIR_ENV = "IOT_BOTNET_DATA_DIR"
CACHE_DIR_ENV = "IOT_BOTNET_CACHE_DIR"
REPO_DATA_DIR = Path(__file__).resolve().parent.parent.parent / "data"  # lib/datasets/files.py -> <repo>/data
HASHES_FILE = "hashes.json"  # in cache_dir(): sha256 of source files by (path, size, mtime, ctime)


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """``data_dir`` if given, else ``$IOT_BOTNET_DATA_DIR``, else the project's ``data/`` folder."""
    chosen = data_dir or os.environ.get(DATA_DIR_ENV) or REPO_DATA_DIR
    return Path(chosen).expanduser().resolve()


def cache_dir() -> Path:
    """The folder of the Parquet cache and of the remembered hashes: ``$IOT_BOTNET_CACHE_DIR``, else
    ``data/cache`` in the project."""
    return Path(os.environ.get(CACHE_DIR_ENV) or REPO_DATA_DIR / "cache")


def read_json_record(path: Path) -> dict | None:
    """The JSON object in ``path``; None if the file is missing, unreadable or not an object."""
    try:
        value = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


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
    record = read_json_record(record_file) or {}
    known = record.get(key)
    if isinstance(known, dict) and {k: known.get(k) for k in stamp} == stamp and _is_sha256(known.get("sha256")):
        return known["sha256"]
    digest = sha256_file(path)
    record = {k: v for k, v in (read_json_record(record_file) or {}).items() if Path(k).exists()}  # others' entries too
    record[key] = {**stamp, "sha256": digest}
    try:
        write_bytes(record_file, json.dumps(record, indent=1, sort_keys=True).encode())
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
