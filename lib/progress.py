"""Progress bars that reach whoever is waiting: the notebook in JupyterLab, the terminal under ``make reproduce``.

    for seed, name in progress.bar(runs, desc="deep models", unit="model"):
        ...

In JupyterLab a bar is tqdm's notebook widget. When the main command runs the notebooks (``lib/runner.py``
sets :data:`TERMINAL`), the notebook is executed by a kernel nobody watches, and a widget would never be seen:
the bar is then plain text written to the kernel's *own* standard output, the terminal the runner was started
from (``sys.stdout.fileno()`` of an IPython kernel is a copy of that descriptor, not the notebook's stream), so
the executed notebook does not fill up with carriage returns. Text bars redraw at most every
:data:`TERMINAL_INTERVAL` seconds, which keeps a log file written by ``make reproduce > log`` short.
"""

from __future__ import annotations

import functools
import io
import os
import sys
from collections.abc import Iterable
from typing import Any

from tqdm import tqdm as text_tqdm
from tqdm.auto import tqdm as auto_tqdm

#: Environment variable the runner sets for the kernels it starts: progress goes to its terminal.
TERMINAL = "IOT_BOTNET_PROGRESS_TERMINAL"
#: Seconds between two redraws of a text bar.
TERMINAL_INTERVAL = 5.0


def to_terminal() -> bool:
    return os.environ.get(TERMINAL, "") not in ("", "0")


@functools.cache
def _terminal() -> io.TextIOBase:
    """A line-buffered stream on a copy of the process's real standard output (not the notebook's)."""
    try:
        return open(os.dup(sys.stdout.fileno()), "w", buffering=1, encoding="utf-8")  # noqa: SIM115 - kept open
    except (OSError, ValueError, io.UnsupportedOperation):
        return sys.__stdout__ or sys.stdout


def bar(iterable: Iterable | None = None, **options: Any) -> text_tqdm:
    """``tqdm(iterable, **options)`` shown where the run is watched (see the module's docstring)."""
    if to_terminal():
        return text_tqdm(
            iterable, file=_terminal(), mininterval=TERMINAL_INTERVAL, dynamic_ncols=False, ncols=100, **options
        )
    return auto_tqdm(iterable, **options)
