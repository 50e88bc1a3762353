"""Which code makes a stage, and whether a stage made by an earlier version of the project would be made the same.

A stage is made by its notebook, the pinned ``requirements.txt`` and the modules of ``lib`` its cells import,
directly or through other modules (:func:`code_files`: read from the ``import`` statements, wherever they stand,
without running anything). ``lib.run`` is left out and not followed: it stores, reads and checks a stage's files
and computes nothing in them (its readers fail loudly on a file they cannot read). The one thing it decides about
a stage's numbers is the dtype they are stored in (prepared arrays float32 and int64, predictions float32), and
``tests/test_run.py`` pins it: an edit there fails a test before it can change a stage its fingerprint keeps. An edit elsewhere in ``lib``,
such as a new report table, leaves every stage whose notebook does not reach it reusable (``--resume``).

Stages written before their manifests listed these files record a hash of all of ``lib`` instead
(:func:`all_lib_fingerprint`). In a git checkout such a stage is still recognised: :func:`commit_of` finds the
commit whose files give that hash, and :func:`unchanged_since` says whether every file the notebook reaches now is
byte for byte the one of that commit.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import json
import re
import subprocess
from pathlib import Path

from lib import paths

#: Packages of ``lib`` a stage's code is not taken from (see the module's docstring).
NOT_FOLLOWED = ("lib.run",)
#: How many commits :func:`commit_of` looks back for a stage made before manifests listed their files.
HISTORY_DEPTH = 400
_MAGIC = re.compile(r"^\s*[%!].*$", re.M)


def blob_id(data: bytes) -> str:
    """Git's id of a file with these bytes (``git hash-object``), so that a file here and a commit's compare."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _module_file(root: Path, module: str) -> Path | None:
    """The file of ``module`` (``lib.x.y``) under ``root``: ``lib/x/y.py`` or ``lib/x/y/__init__.py``."""
    base = root.joinpath(*module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _imports(source: str, module: str, is_package: bool) -> set[str]:
    """The ``lib`` modules that ``source`` (the code of ``module``) imports, anywhere in it, with their parents.
    ``from lib.x import name`` counts ``lib.x.name`` too (kept by the caller only where it is a module)."""
    tree = ast.parse(_MAGIC.sub("", source))
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from . import x, from ..y import z
                parts = package.split(".")
                parent = ".".join(parts[: len(parts) - node.level + 1])
                base = f"{parent}.{base}" if base else parent
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    named = {name for name in found if name == "lib" or name.startswith("lib.")}
    return {".".join(name.split(".")[:i]) for name in named for i in range(1, name.count(".") + 2)}


def _followed(module: str) -> bool:
    return not any(module == skip or module.startswith(skip + ".") for skip in NOT_FOLLOWED)


def notebook_source(path: Path) -> str:
    """The code cells of a notebook, joined (shell and magic lines dropped)."""
    cells = json.loads(path.read_text())["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")


@functools.cache
def code_files(notebook: str, root: Path = paths.REPO_ROOT) -> tuple[str, ...]:
    """The files that make a stage of ``notebook`` (a name in ``notebooks/``), relative to ``root``: the notebook,
    ``requirements.txt`` and every ``lib`` module its cells reach through imports (:data:`NOT_FOLLOWED` apart)."""
    path = root / "notebooks" / notebook
    todo = [("", notebook_source(path) if path.exists() else "", False)]
    seen: dict[str, Path] = {}
    while todo:
        module, source, is_package = todo.pop()
        for name in sorted(_imports(source, module or "__main__", is_package)):
            if name in seen or not _followed(name):
                continue
            file = _module_file(root, name)
            if file is None:  # a name imported from a module, not a module itself
                continue
            seen[name] = file
            todo.append((name, file.read_text(), file.name == "__init__.py"))
    lib_files = sorted({str(f.relative_to(root)) for f in seen.values()})
    return (f"notebooks/{notebook}", "requirements.txt", *lib_files)


def file_ids(notebook: str, root: Path = paths.REPO_ROOT) -> dict[str, str]:
    """:func:`code_files` of ``notebook`` with each file's git blob id (:func:`blob_id`; "" for a missing file)."""
    return {
        rel: blob_id((root / rel).read_bytes()) if (root / rel).is_file() else "" for rel in code_files(notebook, root)
    }


def fingerprint(ids: dict[str, str]) -> str:
    """One hash of :func:`file_ids` (names and contents): equal only for the same files with the same bytes."""
    return hashlib.sha256(json.dumps(sorted(ids.items())).encode()).hexdigest()


def all_lib_fingerprint(contents: dict[str, bytes], notebook: str) -> str:
    """The hash stages recorded before they listed their files: the notebook, ``requirements.txt`` and every
    ``.py`` file under ``lib/`` (``contents``: path relative to the checkout -> bytes), in path order."""
    lib = sorted((p for p in contents if p.startswith("lib/") and p.endswith(".py")), key=lambda p: p.split("/"))
    digest = hashlib.sha256()
    for rel in [f"notebooks/{notebook}", "requirements.txt", *lib]:
        digest.update(rel.encode() + b"\0")
        digest.update(contents.get(rel, b""))
    return digest.hexdigest()


def _git(*args: str, root: Path, data: bytes | None = None) -> bytes:
    return subprocess.run(["git", *args], cwd=root, input=data, capture_output=True, check=True).stdout


def _tree(commit: str, root: Path) -> dict[str, str]:
    """Path -> blob id of the files of ``commit`` that a stage's code can be (notebooks, requirements, ``lib``)."""
    out = _git("ls-tree", "-r", commit, "--", "notebooks", "requirements.txt", "lib", root=root).decode()
    entries = (line.split("\t", 1) for line in out.splitlines())
    return {path: meta.split()[2] for meta, path in entries if meta.split()[1] == "blob"}


def _blobs(ids: set[str], root: Path) -> dict[str, bytes]:
    """The contents of git blobs ``ids``, read in one ``git cat-file --batch``."""
    ordered = sorted(ids)
    out = _git("cat-file", "--batch", root=root, data="".join(f"{i}\n" for i in ordered).encode())
    found, at = {}, 0
    for blob in ordered:
        header_end = out.index(b"\n", at)
        size = int(out[at:header_end].split()[2])
        found[blob] = out[header_end + 1 : header_end + 1 + size]
        at = header_end + 1 + size + 1
    return found


@functools.cache
def commit_of(recorded: str, notebook: str, root: Path = paths.REPO_ROOT) -> str | None:
    """The commit (of the last :data:`HISTORY_DEPTH` of ``HEAD``) whose files give ``recorded``, the hash of all
    of ``lib`` a stage of ``notebook`` recorded before stages listed their files (:func:`all_lib_fingerprint`);
    None outside a git checkout or when no such commit is found."""
    try:
        commits = _git("rev-list", f"--max-count={HISTORY_DEPTH}", "HEAD", root=root).decode().split()
    except (OSError, subprocess.CalledProcessError):
        return None
    cache: dict[str, bytes] = {}
    for commit in commits:
        tree = _tree(commit, root)
        wanted = {rel: blob for rel, blob in tree.items() if rel.startswith("lib/") or rel in
                  (f"notebooks/{notebook}", "requirements.txt")}  # fmt: skip
        cache |= _blobs(set(wanted.values()) - set(cache), root)
        if all_lib_fingerprint({rel: cache[blob] for rel, blob in wanted.items()}, notebook) == recorded:
            return commit
    return None


def unchanged_since(commit: str, notebook: str, root: Path = paths.REPO_ROOT) -> bool:
    """Whether every file that makes a stage of ``notebook`` now (:func:`code_files`) is byte for byte the file of
    ``commit``. The notebook is among them, so a change in what it imports is seen; so is a module that imports
    another one now."""
    then = _tree(commit, root)
    return all(then.get(rel, "") == blob for rel, blob in file_ids(notebook, root).items())
