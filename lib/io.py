"""Safe files: atomic writes, stable JSON, sha256, skops loading with an explicit list of trusted types, and
model folders whose files are checked against the sha256 recorded when they were saved.

The bottom layer with :mod:`lib.paths`: every module that writes a file of a run, a cache or a model folder
writes it through :func:`atomic_write`, so a killed process leaves the old file or the new one, never half of
one. Nothing is unpickled anywhere in the project: scikit-learn objects are ``skops`` files read by
:func:`load_skops`, which refuses any type its caller did not name.

**Model folders are tamper-evident.** A learner that saves a model folder (the scoring pipeline of
:mod:`lib.fusion`, the anomaly branch of :mod:`lib.anomaly`) records in its ``manifest.json``, under
:data:`FILE_HASHES`, the sha256 of every other file of the folder (:func:`file_hashes`); the run folder records
the sha256 of that manifest (:meth:`lib.run.Stage.save_folder`). A reader opens the folder as a
:class:`ModelFolder`: the manifest's bytes are read once and checked against the sha256 its caller passes (the
run's record), then each file's bytes are read once, checked against the manifest's record and parsed from those
same bytes (never read again). So an edit of any one file, the manifest included, is a :class:`ModelFileError`
naming the file. What this does not do: hashes are no signatures. Whoever can write the folder and its record
can recompute both: a file changed together with the record that vouches for it (the manifest's entry and the
stage's entry of the manifest) loads without a word. The record at the top (the run folder's stage manifest)
is trusted as it is; compare the run's fingerprint with a copy kept elsewhere to detect that.
"""

from __future__ import annotations

import hashlib
import io as _io
import json
import os
import re
import shutil
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

#: Types every skops file of this project may hold beyond skops' defaults (a learner adds its own).
BASE_SKOPS_TYPES = frozenset({"numpy.dtype"})


def atomic_write(path: str | os.PathLike, write: Callable[[Path], Any]) -> Path:
    """Call ``write(tmp)`` then rename ``tmp`` to ``path``: readers see the old file or the new one.

    The temporary name keeps the suffix (Keras insists on ``.keras``) and carries the process id, so two
    processes writing the same file never share a temporary file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.partial{path.suffix}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """``data`` into ``path`` atomically (:func:`atomic_write`)."""
    return atomic_write(path, lambda tmp: tmp.write_bytes(data))


def write_text(path: str | os.PathLike, text: str) -> Path:
    """``text`` into ``path`` atomically (:func:`atomic_write`)."""
    return atomic_write(path, lambda tmp: tmp.write_text(text))


def atomic_folder(folder: str | os.PathLike, write: Callable[[Path], Any]) -> Path:
    """Call ``write(tmp)`` on an empty folder beside ``folder``, then put it in ``folder``'s place: a reader
    never sees half of a model folder (the old one is removed just before the rename)."""
    folder = Path(folder)
    tmp = folder.with_name(f".{folder.name}.{os.getpid()}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        write(tmp)
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


def empty_folder(folder: str | os.PathLike) -> Path:
    """``folder``, created if missing; a :class:`ValueError` if it already holds anything (a model folder is
    written whole into an empty place, never over an earlier one: :func:`atomic_folder` does that)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if any(folder.iterdir()):
        raise ValueError(f"{folder} is not empty: a model folder is written into a new folder (atomic_folder)")
    return folder


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(obj: Any) -> str:
    """Stable JSON: sorted keys, numpy values converted, so equal content gives equal bytes."""
    return json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n"


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    """``obj`` as stable JSON (:func:`dumps`) into ``path``, atomically."""
    return write_text(path, dumps(obj))


def read_json(path: str | os.PathLike) -> Any:
    return json.loads(Path(path).read_text())


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | os.PathLike, chunk_size: int = 1 << 22) -> str:
    """The sha256 of a file's bytes, read in chunks (any size, little memory)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def dump_skops(obj: Any, path: str | os.PathLike) -> Path:
    """Write a scikit-learn object with skops (what :func:`load_skops` reads back), atomically."""
    import skops.io

    return atomic_write(path, lambda tmp: skops.io.dump(obj, tmp))


def load_skops(path: str | os.PathLike, trusted: Iterable[str] = (), data: bytes | None = None) -> Any:
    """Load a scikit-learn object written by this project, refusing any type it does not write.

    ``skops`` lists the types a file would instantiate that it does not trust by default; every one of them
    must be in ``trusted`` (or :data:`BASE_SKOPS_TYPES`), so a file crafted to run other code is an error,
    not a load. Each learner passes the types its own objects hold. ``data``: the file's bytes, already read
    (and checked: :meth:`ModelFolder.skops`); they are what is loaded, ``path`` only names the file in errors.
    A file that is no skops archive (cut, corrupted) is a :class:`ModelFileError` naming it.
    """
    import skops.io

    path = Path(path)
    data = path.read_bytes() if data is None else data
    untrusted = _untrusted_skops_types(path, data, trusted)
    return _parsed(path, "a skops file", lambda: skops.io.loads(data, trusted=untrusted))


def _untrusted_skops_types(path: Path, data: bytes, trusted: Iterable[str]) -> list[str]:
    """The types skops does not trust by default in ``data`` (only its schema is read: nothing is built), every
    one of them in ``trusted`` or :data:`BASE_SKOPS_TYPES`; else a :class:`ValueError` naming the others."""
    import skops.io

    untrusted = _parsed(path, "a skops file", lambda: skops.io.get_untrusted_types(data=data))
    refused = sorted(set(untrusted) - BASE_SKOPS_TYPES - frozenset(trusted))
    if refused:
        raise ValueError(
            f"{path}: refusing to load types this project never writes: {refused}. The file was not made by "
            f"this project's code (or by a newer version). Fix: recreate it by rerunning the notebook that made it"
        )
    return untrusted


MANIFEST = "manifest.json"
#: The key of a model folder's manifest that records the sha256 of every other file of the folder, by name.
FILE_HASHES = "files"
_SHA256 = re.compile(r"[0-9a-f]{64}")
#: The end of every error about a file of a model folder that is not as it was saved.
RESTORE = "retrain the run or restore the file from its copy"


class ModelFileError(ValueError):
    """A file of a model folder that is not the one saved there (its sha256 differs from the record, or no
    record vouches for it) or that its reader refuses (a crafted or corrupted file). The message names the file,
    what is wrong and the fix; ``iot-botnet score`` exits 2 with it (a :class:`ValueError`)."""


def short_reason(err: BaseException, limit: int = 240) -> str:
    """``Type: first line of the message`` of an exception, at most ``limit`` characters (for one-line errors)."""
    lines = str(err).strip().splitlines()
    text = lines[0] if lines else ""
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def _parsed(path: Path, what: str, parse: Callable[[], Any]) -> Any:
    """``parse()``, any failure of a third-party reader turned into a :class:`ModelFileError` naming ``path``
    (its type and first line said, no traceback): every one of them means the same, the file is unusable."""
    try:
        return parse()
    except ModelFileError:
        raise
    except Exception as err:  # a reader's own errors (BadZipFile, KeyError, ValueError, ...) all mean: unreadable
        raise ModelFileError(
            f"{path}: not readable as {what} ({short_reason(err)}): the file is cut, corrupted or not what the "
            f"folder saved. Fix: {RESTORE}"
        ) from None


def file_hashes(folder: str | os.PathLike, exclude: Iterable[str] = (MANIFEST,)) -> dict[str, str]:
    """The sha256 of every file of ``folder`` by file name (``exclude`` left out): what a model folder's writer
    records under :data:`FILE_HASHES` once every other file is written. A model folder is flat: a sub-folder or
    anything else that is not a plain file is a :class:`ValueError`."""
    folder, excluded = Path(folder), set(exclude)
    hashes = {}
    for path in sorted(folder.iterdir()):
        if path.name in excluded:
            continue
        if path.is_symlink() or not path.is_file():
            raise ValueError(f"{path}: a model folder holds plain files only; nothing was recorded")
        hashes[path.name] = sha256_file(path)
    return hashes


def folder_file(
    folder: str | os.PathLike,
    name: Any,
    *,
    key: str = "",
    value: Any = None,
    suffixes: tuple[str, ...] | None = None,
    fix: str = "write the folder again with the notebook that made it",
) -> Path:
    """``folder / name`` for a file a model folder's manifest names; a :class:`ValueError` unless ``name`` is a
    plain file name (no separator, no ``..``, so never absolute) of an existing file inside ``folder`` (a link
    pointing out of the folder is refused too). ``key`` is the manifest key that named it ("" for fixed names),
    ``value`` what the manifest holds there when ``name`` is built from it, ``fix`` what remakes the folder."""
    folder = Path(folder)
    value = name if value is None else value
    if not isinstance(name, str) or not name:
        problem = "it is not a file name"
    elif "/" in name or "\\" in name or "\0" in name or name in (".", ".."):
        problem = "not a plain file name: a model folder refers only to files inside itself"
    elif suffixes and not name.endswith(suffixes):
        problem = f"the file name must end with one of {list(suffixes)}"
    elif (folder / name).resolve().parent != folder.resolve():
        problem = "it is a link to a file outside the folder"
    elif not (folder / name).is_file():
        problem = "no such file in the folder"
    else:
        return folder / name
    what = f"{key} names {value!r}" if key else repr(value)
    raise ValueError(f"{folder / MANIFEST}: {what}, which is refused ({problem}). Fix: {fix}")


class ModelFolder:
    """A model folder opened for reading, its files checked before any is parsed (module docstring).

    ``manifest`` is the folder's ``manifest.json`` as parsed from the bytes read once here; ``manifest_sha256``
    is the sha256 its parent recorded for those bytes (``recorded_in`` names that record; by default the
    manifest of the run's stage that saved the folder, one folder up: :meth:`lib.run.Stage.save_folder`): a
    manifest with other bytes is a :class:`ModelFileError`. ``None`` checks the files against the manifest but
    not the manifest itself (a folder read without its run). :meth:`read` and the typed readers
    (:meth:`array`, :meth:`arrays`, :meth:`skops`) check a file's bytes against :data:`FILE_HASHES` of the
    manifest and hand out those bytes, or what was parsed from them. ``fix`` is what remakes the folder.
    """

    def __init__(
        self,
        folder: str | os.PathLike,
        *,
        fix: str,
        manifest_sha256: str | None = None,
        recorded_in: str | None = None,
    ):
        self.path, self.fix = Path(folder), fix
        manifest_path = folder_file(self.path, MANIFEST, fix=fix)
        data = manifest_path.read_bytes()
        if manifest_sha256 is not None:  # a run records it in the manifest of the stage that saved the folder
            self._check(MANIFEST, data, manifest_sha256, recorded_in or str(self.path.parent / MANIFEST))
        self.manifest: Any = _parsed(manifest_path, "JSON", lambda: json.loads(data))

    def file(self, name: Any, **check: Any) -> Path:
        """The path of a file the manifest names (:func:`folder_file`; ``check``: its ``key``, ``value``,
        ``suffixes``); a :class:`ValueError` when it is not a plain file of the folder."""
        return folder_file(self.path, name, fix=self.fix, **check)

    def recorded(self) -> dict[str, str]:
        """What the manifest records under :data:`FILE_HASHES`; a :class:`ModelFileError` when it records
        nothing (a folder saved before files were hashed: it can not be checked, so it is not loaded)."""
        record = self.manifest.get(FILE_HASHES) if isinstance(self.manifest, dict) else None
        if record is None:
            raise ModelFileError(
                f"{self.path / MANIFEST}: records no sha256 of the folder's files (saved by an earlier version of "
                f"this code), so they can not be checked and the folder is not loaded. Fix: retrain: {self.fix} "
                f"(then rerun the notebooks after it, which will say they are stale)"
            )
        if not isinstance(record, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and _SHA256.fullmatch(v) for k, v in record.items()
        ):
            raise ModelFileError(
                f"{self.path / MANIFEST}: '{FILE_HASHES}' must map file names to sha256 hex digests; it is not that "
                f"(the manifest was edited). Fix: {RESTORE}"
            )
        return record

    def read(self, name: str, **check: Any) -> bytes:
        """The bytes of file ``name``, read once and checked against the manifest's record (``check`` as for
        :meth:`file`); a :class:`ModelFileError` naming it when they differ or the manifest has no record of it."""
        data = self.file(name, **check).read_bytes()
        self._check_recorded(name, data)
        return data

    def array(self, name: str) -> np.ndarray:
        """A ``.npy`` file of the folder (checked; ``allow_pickle=False``)."""
        path = self.path / name
        data = self.read(name, suffixes=(".npy",))
        return _parsed(path, "a NumPy .npy file", lambda: np.load(_io.BytesIO(data), allow_pickle=False))

    def arrays(self, name: str) -> dict[str, np.ndarray]:
        """The arrays of a ``.npz`` file of the folder (checked; ``allow_pickle=False``)."""
        path = self.path / name
        data = self.read(name, suffixes=(".npz",))

        def parse() -> dict[str, np.ndarray]:
            with np.load(_io.BytesIO(data), allow_pickle=False) as stored:
                return {key: stored[key] for key in stored.files}

        return _parsed(path, "a NumPy .npz file", parse)

    def skops(self, name: str, trusted: Iterable[str] = ()) -> Any:
        """A skops file of the folder (checked), its types checked as :func:`load_skops` does. When its bytes are
        not the ones saved and it holds types this project never writes, the error says so (a crafted file; the
        type check reads the file's schema only, nothing is built)."""
        import skops.io

        path = self.file(name, suffixes=(".skops",))
        data = path.read_bytes()
        try:
            self._check_recorded(name, data)
        except ModelFileError as mismatch:
            try:
                _untrusted_skops_types(path, data, trusted)
            except ModelFileError:  # not even a skops archive: the mismatch says enough
                pass
            raise mismatch from None
        untrusted = _untrusted_skops_types(path, data, trusted)
        return _parsed(path, "a skops file", lambda: skops.io.loads(data, trusted=untrusted))

    def _check_recorded(self, name: str, data: bytes) -> None:
        recorded = self.recorded()
        if name not in recorded:
            raise ModelFileError(
                f"{self.path / name}: {self.path / MANIFEST} records no sha256 for it, so it is not loaded (the "
                f"manifest was edited, or the file does not belong to the folder). Fix: {RESTORE}"
            )
        self._check(name, data, recorded[name], str(self.path / MANIFEST))

    def _check(self, name: str, data: bytes, expected: str, recorded_in: str) -> None:
        found = sha256_bytes(data)
        if found != expected:
            raise ModelFileError(
                f"{self.path / name}: its bytes (sha256 {found[:16]}…) are not the ones saved there (sha256 "
                f"{str(expected)[:16]}…, recorded in {recorded_in}): the file was edited, replaced or copied from "
                f"elsewhere since, so the folder is not loaded. Fix: {RESTORE} (to retrain: {self.fix})"
            )


def is_zip(data: bytes) -> bool:
    """Whether ``data`` is a zip archive (a ``.keras`` file is one)."""
    return zipfile.is_zipfile(_io.BytesIO(data))
