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
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from lib import progress, registry
from lib.datasets.errors import DataError
from lib.datasets.textio import UTF8_BOM
from lib.datasets.zeek_json import looks_like_zeek_json
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
    in the folder that ``file_glob`` does not take are named in a warning, with what each is and how to read
    them; a file it takes that cannot be read (permissions) is a :class:`DataError` naming it and why.
    """
    info = registry.DATASETS[dataset]
    data_root = resolve_data_dir(data_dir)
    root = data_root / dataset
    found = sorted(p for p in root.glob(info.file_glob) if p.is_file())
    _warn_unread_files(dataset, root, info.file_glob, found)  # (a folder that cannot be listed: an error here)
    if found:
        return [check_readable(p) for p in found]
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


_DOC_NAMES = ("README", "PROVENANCE", "LICENSE", "LICENCE", "NOTICE", "CHANGELOG", "CITATION")
_DOC_SUFFIXES = (".md", ".rst", ".pdf", ".html", ".htm")


def _is_documentation(relpath: Path, text_is_documentation: bool = True) -> bool:
    """README*, PROVENANCE*, LICENSE* (and the like), *.md, *.rst, *.pdf, *.html and (``text_is_documentation``)
    *.txt files, and anything hidden (dotfiles, dot-folders)."""
    name = relpath.name.upper()
    hidden = any(part.startswith(".") for part in relpath.parts)
    suffixes = _DOC_SUFFIXES + ((".txt",) if text_is_documentation else ())
    return hidden or name.startswith(_DOC_NAMES) or relpath.suffix.lower() in suffixes


#: Bytes of a file's text read to tell a Zeek log by its content: a JSON log's whole first record (a conn log's
#: is a few hundred bytes) fits, so that :func:`lib.datasets.zeek_json.looks_like_zeek_json` judges its keys.
ZEEK_HEAD_BYTES = 65536


def _read_head(path: Path, size: int = 4096) -> bytes:
    """The first ``size`` bytes of ``path``'s text (gzip decompressed); an ``OSError`` if it cannot be read."""
    with open(path, "rb") as fh:
        head = fh.read(size)
    if head.startswith(b"\x1f\x8b"):
        try:
            with gzip.open(path, "rb") as fh:
                return fh.read(size)
        except (EOFError, gzip.BadGzipFile, zlib.error):
            return head
    return head


def unreadable(path: Path) -> str | None:
    """Why ``path`` cannot be read, in the system's words (``Permission denied``), or None if it can."""
    try:
        _read_head(path, 1)
    except OSError as err:
        return err.strerror or type(err).__name__
    return None


def check_readable(path: Path) -> Path:
    """``path``, or a :class:`DataError` naming it and why it cannot be read, with the fix."""
    reason = unreadable(path)
    if reason:
        raise DataError(
            f"{path}: the file cannot be read ({reason}). Fix: give this user read access to it (e.g. "
            f"`chmod a+r`), or move it out of the data folder / DATA_FILES"
        )
    return path


#: What :func:`what_it_is` calls a Zeek log and a delimited table (the folder listing adds which DATASET reads it).
ZEEK_LOG, DELIMITED_TABLE, PARQUET_TABLE = "a Zeek log", "a delimited text table", "a Parquet table"


def what_it_is(path: Path) -> str:
    """What a file a reader does not take is, in words, from its first bytes: unreadable (and why), empty, an
    archive (and how to open it), a Parquet table, binary content, a Zeek log, a delimited text table, or another
    text format."""
    reason = unreadable(path)
    if reason:
        return f"unreadable: {reason}"
    head = _read_head(path, ZEEK_HEAD_BYTES)
    if not head.strip():
        return "empty"
    for magic, kind in _ARCHIVES.items():
        if head.startswith(magic):
            return kind
    if b"\x00" in head:
        return "not text (binary content)"
    if _starts_like_zeek(head):
        return ZEEK_LOG
    first = head.split(b"\n", 1)[0]
    if any(sep in first for sep in (b",", b"\t", b";")):
        return DELIMITED_TABLE
    return f"another format ({''.join(path.suffixes) or 'text without a suffix'})"


_ARCHIVES = {
    b"PK\x03\x04": "a zip archive: unzip it first",
    b"PAR1": PARQUET_TABLE,
    b"\x28\xb5\x2f\xfd": "a zstd archive: decompress it first",
    b"BZh": "a bzip2 archive: decompress it first",
    b"\xfd7zXZ": "an xz archive: decompress it first",
}


def _unread_list(paths: list[tuple[str, str]], shown: int = 10) -> str:
    """``name (why), ...`` of the first ``shown`` files, and how many more."""
    text = ", ".join(f"{name} ({why})" for name, why in paths[:shown])
    return text + (f" and {len(paths) - shown} more" if len(paths) > shown else "")


def _listable(folder: Path) -> list[Path]:
    """Every file under ``folder``, in order; a :class:`DataError` naming a folder (``folder`` or one below it)
    that cannot be listed, and why."""
    failed: list[OSError] = []
    found = [Path(top) / name for top, _, names in os.walk(folder, onerror=failed.append) for name in names]
    if failed:
        err = failed[0]
        raise DataError(
            f"{err.filename or folder}: the folder cannot be listed ({err.strerror or type(err).__name__}), so its "
            f"files cannot be read. Fix: give this user read and execute access to it (e.g. `chmod a+rx`), or "
            f"name the files to read in DATA_FILES"
        )
    return sorted(p for p in found if p.is_file())


def _warn_unread_files(dataset: str, root: Path, file_glob: str, found: list[Path]) -> None:
    """Log the files under ``root`` that ``file_glob`` does not take (documentation and dotfiles aside), each
    with what it is (:func:`what_it_is`)."""
    if not root.is_dir():
        return
    taken = set(found)
    unread = [
        (str(p.relative_to(root)), what_it_is(p))
        for p in _listable(root)
        if p not in taken and not _is_documentation(p.relative_to(root))
    ]
    if unread:
        reader = "zeek" if registry.DATASETS[dataset].format.startswith("zeek") else dataset  # any Zeek conn log
        log.warning(
            "%s: %d file(s) not read: DATASET=%s reads only %s there: %s. To read them, name them: "
            "DATASET=%s DATA_FILES=%s",
            root, len(unread), dataset, file_glob, _unread_list(unread), reader,
            ",".join(str(root / name) for name, _ in unread[:3]),
        )  # fmt: skip


TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".parquet")


def is_table(path: Path) -> bool:
    """A CSV, TSV, text or Parquet file, plain or gzip (``flows.csv.gz``)."""
    suffixes = [s.lower() for s in path.suffixes]
    while suffixes and suffixes[-1] == ".gz":
        suffixes.pop()
    return bool(suffixes) and suffixes[-1] in TABLE_SUFFIXES


def _starts_like_zeek(head: bytes) -> bool:
    """Whether a text's first bytes are those of a Zeek log: TSV (``#separator`` or ``#fields`` first, after a
    UTF-8 byte-order mark if any) or JSON (:func:`lib.datasets.zeek_json.looks_like_zeek_json`)."""
    text = head[len(UTF8_BOM) :] if head.startswith(UTF8_BOM) else head
    return text.startswith((b"#separator", b"#fields")) or looks_like_zeek_json(text)


def is_zeek_log(path: Path) -> bool:
    """A Zeek log, plain or gzip, any name, told by its content: a TSV log starts with ``#separator`` or
    ``#fields``; a JSON log (``LogAscii::use_json=T``) has a JSON object with ``ts`` and a Zeek key on its first
    line (its first :data:`ZEEK_HEAD_BYTES` read). False for a file that cannot be read."""
    try:
        head = _read_head(path, ZEEK_HEAD_BYTES)
    except OSError:
        return False
    return _starts_like_zeek(head)


def expand_files(
    spec: str | Iterable[str | os.PathLike],
    folder_glob: str | None = None,
    accept: Callable[[Path], bool] = is_table,
) -> list[Path]:
    """Paths from a comma-separated string or a list; glob patterns are expanded, and folders searched for
    ``folder_glob``, or else for every file that ``accept`` takes (default: CSV, TSV, text and Parquet
    files, plain or ``.gz``).

    A path that does not exist, or a pattern that matches no file, is a ``FileNotFoundError`` naming it; a file
    to read that cannot be read (permissions), or a folder that cannot be listed, is a :class:`DataError`
    naming it and why. A folder's files that are not read are named in one log line, each with why: hidden,
    documentation (README, *.md ...), empty, unreadable, or what it is (:func:`what_it_is`: an archive, binary
    content, a Zeek log or a table of the other kind, another format)."""
    items = [s.strip() for s in spec.split(",")] if isinstance(spec, str) else [str(s) for s in spec]
    paths: list[Path] = []
    for item in filter(None, items):
        p = Path(item).expanduser()
        if p.is_dir():
            paths += _folder_files(p, folder_glob, accept)
        elif any(ch in item for ch in "*?["):
            matches = sorted(Path(m) for m in glob.glob(item, recursive=True) if Path(m).is_file())
            if not matches:
                raise FileNotFoundError(
                    f"{item}: the pattern matches no file. Fix: check DATA_FILES (comma-separated paths, folders or "
                    f"globs)"
                )
            paths += [check_readable(m) for m in matches]
        elif p.exists():
            paths.append(check_readable(p))
        else:
            raise FileNotFoundError(f"{item}: no such file. Fix: check DATA_FILES (comma-separated paths or globs)")
    if not paths:
        raise FileNotFoundError(f"DATA_FILES={spec!r} matched no data file. Fix: check the paths and the DATASET")
    return paths


_TABLE_HINTS = {
    ZEEK_LOG: "DATASET='zeek' reads it",
    DELIMITED_TABLE: f"not named as a table ({', '.join(TABLE_SUFFIXES)}, or .gz): rename it or name it in DATA_FILES",
}
_ZEEK_HINTS = {DELIMITED_TABLE: "not a Zeek log; DATASET='csv' reads it", PARQUET_TABLE: "DATASET='csv' reads it"}


def _folder_files(folder: Path, folder_glob: str | None, accept: Callable[[Path], bool]) -> list[Path]:
    """The files of ``folder`` (and below) to read: those ``folder_glob`` matches, or else those ``accept``
    takes; the others named in a warning with why (:func:`expand_files`)."""
    found = _listable(folder)
    matched = {q for q in folder.glob(folder_glob) if q.is_file()} if folder_glob else None
    by_content = accept is is_zeek_log  # a Zeek log is known by its content, a table by its name
    hints = _ZEEK_HINTS if by_content else _TABLE_HINTS
    taken, skipped = [], []
    for q in found:
        relpath = q.relative_to(folder)
        if any(part.startswith(".") for part in relpath.parts):
            skipped.append((str(relpath), "hidden"))
        elif _is_documentation(relpath, text_is_documentation=False):
            skipped.append((str(relpath), "documentation"))
        elif matched is not None and q not in matched:
            skipped.append((str(relpath), f"not {folder_glob}: {what_it_is(q)}"))
        elif unreadable(q) and (matched is not None or by_content or accept(q)):
            check_readable(q)  # a file to read (or one whose kind cannot be told) that cannot be read
        elif q.stat().st_size == 0:
            skipped.append((str(relpath), "empty"))
        elif matched is not None or accept(q):
            taken.append(q)
        else:
            kind = what_it_is(q)
            skipped.append((str(relpath), f"{kind}: {hints[kind]}" if kind in hints else kind))
    if skipped:
        log.warning("%s: %d file(s) not read: %s", folder, len(skipped), _unread_list(skipped))
    return taken
