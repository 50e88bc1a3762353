"""Safe files: atomic writes, stable JSON, sha256, and skops loading with an explicit list of trusted types.

The bottom layer with :mod:`lib.paths`: every module that writes a file of a run, a cache or a model folder
writes it through :func:`atomic_write`, so a killed process leaves the old file or the new one, never half of
one. Nothing is unpickled anywhere in the project: scikit-learn objects are ``skops`` files read by
:func:`load_skops`, which refuses any type its caller did not name.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
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


def load_skops(path: str | os.PathLike, trusted: Iterable[str] = ()) -> Any:
    """Load a scikit-learn object written by this project, refusing any type it does not write.

    ``skops`` lists the types a file would instantiate that it does not trust by default; every one of them
    must be in ``trusted`` (or :data:`BASE_SKOPS_TYPES`), so a file crafted to run other code is an error,
    not a load. Each learner passes the types its own objects hold.
    """
    import skops.io

    path = Path(path)
    allowed = BASE_SKOPS_TYPES | frozenset(trusted)
    untrusted = skops.io.get_untrusted_types(file=path)
    refused = sorted(set(untrusted) - allowed)
    if refused:
        raise ValueError(
            f"{path}: refusing to load types this project never writes: {refused}. The file was not made by "
            f"this project's code (or by a newer version). Fix: recreate it by rerunning the notebook that made it"
        )
    return skops.io.load(path, trusted=untrusted)


MANIFEST = "manifest.json"


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
