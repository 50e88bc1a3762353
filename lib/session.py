"""Set-up shared by every notebook's second cell: the parameters it ran with, one seed, one plot style.

params = session.parameters(globals())   # first line of the set-up cell
session.setup(SEED, "numpy", "pandas")  # seed, plot style, logging, library versions
"""

from __future__ import annotations

import importlib
import logging
import os
import random
import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any

import numpy as np


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and, if it is already imported, Keras/TensorFlow from one ``seed``.

    Modules that train networks call this again after importing Keras, so data work never has to
    import TensorFlow just to be seeded.
    """
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - seeds libraries that still draw from the global state
    if "keras" in sys.modules:
        sys.modules["keras"].utils.set_random_seed(seed)


_PARAMETER_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")


def parameters(namespace: Mapping[str, Any]) -> dict[str, Any]:
    """The notebook's parameters as it runs: the names its ``parameters`` cell declares, with their values now.

    Called in the set-up cell with ``globals()``. The names are those the parameters cell annotates
    (``SEED: int = 42``; the kernel collects them in ``__annotations__``), the values those papermill injected
    after it (or the defaults, in JupyterLab), so the run folder records what the notebook really ran with,
    not a hand-built list that can miss a name, and no later UPPER_CASE variable. Outside a notebook (no
    annotations) every UPPER_CASE name bound to a plain value counts.
    """
    plain = (str, int, float, bool, type(None))
    declared = namespace.get("__annotations__") or {
        name: None for name, value in namespace.items() if _PARAMETER_NAME.match(name) and isinstance(value, plain)
    }
    names = [name for name in sorted(declared) if _PARAMETER_NAME.match(name) and name in namespace]
    if isinstance(namespace, MutableMapping):  # the notebook's globals: its code sees the coerced values too
        for name in names:
            namespace[name] = coerce(namespace[name], declared[name])
    return {name: coerce(namespace[name], declared[name]) for name in names}


def coerce(value: Any, declared: Any) -> Any:
    """``value`` as the type its parameter declares. Papermill's ``-p`` guesses types from the text, so
    ``-p BENIGN_LABELS 0`` arrives as the integer 0 and ``0,1`` (through other tools) as a tuple; a ``str``
    parameter gets its text back (``"0"``, ``"0,1"``), and an ``int`` or ``float`` parameter given as text is
    converted; ``"false"``/``"no"``/``"0"`` for a ``bool`` parameter is False (papermill passes ``-p SMOTE
    false`` as the text "false", which Python would take as true). Anything else is returned unchanged."""
    if declared in (str, "str") and not isinstance(value, str) and value is not None:
        if isinstance(value, list | tuple | set):
            return ",".join(str(v) for v in value)
        return str(value).lower() if isinstance(value, bool) else str(value)
    if declared in (bool, "bool") and isinstance(value, str | int) and not isinstance(value, bool):
        text = str(value).strip().lower()
        if text not in _BOOLEANS:
            raise ValueError(f"a True/False parameter was given {value!r}: use true or false")
        return _BOOLEANS[text]
    if declared in (float, "float") and isinstance(value, int | str) and not isinstance(value, bool):
        return float(value)
    if declared in (int, "int") and isinstance(value, str | float) and not isinstance(value, bool):
        number = float(value)
        if not number.is_integer():
            raise ValueError(f"a whole-number parameter was given {value!r}")
        return int(number)
    return value


_BOOLEANS = {"true": True, "false": False, "yes": True, "no": False, "1": True, "0": False}


def setup(seed: int, *packages: str) -> None:
    """Seed everything from ``seed``, set the one plot style, log ``lib``'s messages, print library versions."""
    from lib import figures  # matplotlib: only where a notebook sets its plot style

    seed_everything(seed)
    figures.apply_style()
    # on standard output: a notebook shows standard error in red, as if something had failed
    logging.basicConfig(
        stream=sys.stdout, level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s", force=True
    )
    logging.getLogger("lib").setLevel(logging.INFO)
    print(versions(*packages))
    print(numerics())


def split_list(text: str) -> list[str]:
    """``"a, b,,c"`` -> ``["a", "b", "c"]``: the comma-separated list parameters of the notebooks."""
    return [item.strip() for item in str(text).split(",") if item.strip()]


def peak_memory_mib() -> float:
    """Peak resident memory of this process so far, in MiB (Linux ru_maxrss is in KiB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def versions(*names: str) -> dict[str, str]:
    """Installed versions of the named packages (those already imported or importable)."""
    found = {"python": sys.version.split()[0]}
    for name in names:
        try:
            found[name] = getattr(importlib.import_module(name), "__version__", "?")
        except ImportError:
            found[name] = "not installed"
    return found


#: Environment variables that choose the numeric kernels: OpenBLAS's kernels and threads (numpy, scipy), the
#: OpenMP threads (scikit-learn), oneDNN's instruction set and TensorFlow's use of it (the deep models).
NUMERIC_VARIABLES = (
    "OPENBLAS_CORETYPE",
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "ONEDNN_MAX_CPU_ISA",
    "TF_ENABLE_ONEDNN_OPTS",
)


def numerics() -> dict[str, object]:
    """What decides the last bits of this process's arithmetic: the CPU, the variables of :data:`NUMERIC_VARIABLES`
    (unset ones as ``""``), and each BLAS or OpenMP library loaded so far with the kernels it chose and its threads
    (``threadpoolctl``). Printed by :func:`setup` and recorded by the runner beside the executed notebooks: a
    score that differs between two machines is explained here."""
    import platform

    from threadpoolctl import threadpool_info

    libraries = [
        {key: info.get(key) for key in ("internal_api", "architecture", "num_threads", "version")}
        for info in threadpool_info()
    ]
    return {
        "cpu": _cpu_model() or platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        **{name: os.environ.get(name, "") for name in NUMERIC_VARIABLES},
        "libraries": sorted(libraries, key=lambda lib: (str(lib["internal_api"]), str(lib["version"]))),
    }


def _cpu_model() -> str:
    """The CPU's model name from ``/proc/cpuinfo`` (Linux), else ``""``."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            return next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), "")
    except OSError:
        return ""
