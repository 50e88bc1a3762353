"""The browser tier: notebook 01 as a student runs it in JupyterLab (``make lab``), driven in headless Chromium.

JupyterLab is started the way ``make lab`` starts it (the ``jupyter`` of this test's environment, the notebooks
folder as its root: here a temporary copy, so nothing is written into the repository), on a free localhost port,
with a generated token. Notebook 01 is parameterised the way a teacher hands out a small run (papermill's
``prepare_only``: ``SAMPLE_ROWS``, ``RUN_DIR`` and ``DATA_DIR`` written after the parameters cell), opened from the
file browser, run with Run > Run All Cells and saved with File > Save Notebook. The test then reads the page and
the saved notebook: every code cell ran, and no cell wrote an error, a warning or anything else to stderr (nor a
warning to stdout). The kernel that ran it is asked (through its connection file, not through a cell) which Python
it is and where ``lib`` comes from: the project's environment and this repository. A screenshot of the executed
notebook (its first progress bars or figure in view) goes to ``$LAB_SCREENSHOT`` (``make lab-screenshot``), else to
the test's temporary folder. The Lab's log is printed when the test fails; the server and its kernels are stopped
whatever happens.

Needs the real-data mirror (``$IOT_BOTNET_DATA_DIR``; the test fails without it) and Debian's ``chromium`` at
``/usr/bin/chromium`` (no browser is downloaded).
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import papermill
import pytest

from lib import progress, runner
from lib.paths import NOTEBOOK_DIR, REPO_ROOT

CHROMIUM = Path("/usr/bin/chromium")
#: Headless, and quiet on a closed network: without the last four, Chromium keeps calling Google's services.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
NOTEBOOK = "01_data_preparation.ipynb"
#: What a small run of notebook 01 is given (DATA_DIR and RUN_DIR are added by the test).
TINY = {"DATASET": "iot23", "SAMPLE_ROWS": 3000}
#: Seconds allowed for each step: about ten times what each takes on a busy 2-core machine (the whole test takes
#: under a minute there), so a hang fails in minutes with the step named.
START_SECONDS = 60  # the Lab answering its REST API
OPEN_SECONDS = 60  # the page loaded, the notebook open and its kernel idle
RUN_SECONDS = 150  # Run All Cells, until the kernel is idle with no cell queued
SAVE_SECONDS = 30
STOP_SECONDS = 15
LOG_TAIL_LINES = 80
STDERR_LINES = 15  # of each stderr output shown in a failure
PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"  # the notebook in front
STDERR = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
#: A warning or error written to stdout: a logging record (``WARNING name: ...``) or Python's warning line
#: (``file.py:12: UserWarning: ...``).
WARNING_LINE = re.compile(r"^(WARNING|ERROR|CRITICAL)\b|\b\w*(Warning|Error): ", re.MULTILINE)

#: The open notebook as the page shows it: each cell's prompt (``[3]:``, ``[*]:`` queued or running, ``[ ]:`` not
#: run) and stderr outputs (a traceback is rendered as stderr too), the kernel named in the toolbar and its status,
#: and the text of any dialog the Lab put up.
READ_PAGE = """([panelSelector, stderr]) => {
    const panel = document.querySelector(panelSelector);
    const dialog = document.querySelector('.jp-Dialog');
    const state = {cells: [], kernel: null, status: null, dialog: dialog ? dialog.innerText : null};
    if (!panel) return state;
    state.cells = Array.from(panel.querySelectorAll('.jp-Notebook .jp-Cell')).map((cell) => ({
        code: cell.classList.contains('jp-CodeCell'),
        prompt: (cell.querySelector('.jp-InputPrompt')?.textContent || '').trim(),
        stderr: Array.from(cell.querySelectorAll(stderr)).map((output) => output.textContent),
    }));
    state.kernel = panel.querySelector('.jp-Toolbar-kernelName')?.textContent.trim() || null;
    state.status = panel.querySelector('.jp-Notebook-ExecutionIndicator')?.getAttribute('data-status') || null;
    return state;
}"""
#: What the screenshot shows first: tqdm's progress widgets, else a figure.
IN_VIEW = ("application/vnd.jupyter.widget-view+json", "image/png")
#: User settings of the Lab under test: no question about Jupyter news over the notebook (nothing is fetched).
LAB_SETTINGS = {"@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false"}}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _descendants(root: int) -> list[int]:
    """Process ids of every process below ``root`` (read from /proc)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        children = parents.get(todo.pop(), [])
        found += children
        todo += children
    return found


class Lab:
    """A JupyterLab server started as ``make lab`` starts it, in a process group of its own."""

    def __init__(self, root: Path, home: Path):
        self.root = root
        self.token = secrets.token_hex(24)
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.runtime = home / "runtime"
        self.log_path = home / "lab.log"
        (home / "data").mkdir(parents=True, exist_ok=True)
        for name, values in LAB_SETTINGS.items():
            (home / "settings" / name).parent.mkdir(parents=True, exist_ok=True)
            (home / "settings" / name).write_text(json.dumps(values))
        jupyter = Path(sys.executable).parent / "jupyter"  # the environment's own, as `make lab` runs .venv/bin/jupyter
        env = dict(os.environ)
        env.pop(progress.TERMINAL, None)  # progress bars as a student sees them: widgets in the notebook
        env.update(
            JUPYTER_CONFIG_DIR=str(home / "config"),  # no user configuration, no file written in the user's home
            JUPYTER_RUNTIME_DIR=str(self.runtime),
            IPYTHONDIR=str(home / "ipython"),
        )
        command = [
            str(jupyter),
            "lab",
            str(root),
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--LabApp.user_settings_dir={home / 'settings'}",
            f"--LabApp.workspaces_dir={home / 'workspaces'}",
            f"--NotebookNotary.data_dir={home / 'data'}",  # its signing key and database, not the user's
            "--LabApp.news_url=None",  # no announcements fetched from the network
            "--LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate",
        ]
        if os.geteuid() == 0:
            command.append("--allow-root")  # a CI container runs as root; the server refuses it otherwise
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def api(self, path: str, method: str = "GET", timeout: float = 10) -> object:
        request = urllib.request.Request(
            f"{self.url}/api/{path}", method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
        return json.loads(body) if body else None

    def wait_until_up(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"JupyterLab exited with code {self.process.returncode} at start:\n{self.log_tail()}")
            with contextlib.suppress(OSError, ValueError):
                self.api("status", timeout=5)
                return
            time.sleep(0.5)
        pytest.fail(f"JupyterLab did not answer on {self.url} within {seconds} s:\n{self.log_tail()}")

    def stop(self) -> None:
        """Shut the server down (it stops its kernels), then kill whatever of it is left: the server's process
        group and each kernel's (a kernel runs in a session of its own)."""
        groups = {self.process.pid}
        for pid in _descendants(self.process.pid):
            with contextlib.suppress(OSError):
                groups.add(os.getpgid(pid))
        groups.discard(os.getpgrp())  # never this test's own group
        if self.process.poll() is None:
            with contextlib.suppress(OSError, ValueError):
                self.api("shutdown", method="POST", timeout=5)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(STOP_SECONDS)
        for group in groups:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(group, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(STOP_SECONDS)


@pytest.fixture
def lab_folder(mirror, tmp_path) -> Path:
    """A copy of notebooks/ with notebook 01 parameterised for a small run, as JupyterLab will serve it."""
    folder = tmp_path / "notebooks"
    shutil.copytree(NOTEBOOK_DIR, folder, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    parameters = TINY | {"DATA_DIR": str(mirror), "RUN_DIR": str(tmp_path / "run")}
    runner.check_parameters(NOTEBOOK_DIR / NOTEBOOK, parameters)  # papermill alone only warns about a typo
    papermill.execute_notebook(
        NOTEBOOK_DIR / NOTEBOOK, folder / NOTEBOOK, parameters=parameters, prepare_only=True, progress_bar=False
    )
    return folder


@pytest.fixture
def lab(lab_folder, tmp_path):
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium), as .ci/run does")
    server = Lab(lab_folder, tmp_path / "lab")
    try:
        server.wait_until_up(START_SECONDS)
        yield server
    finally:
        server.stop()
        # shown by pytest only when the test failed: what the server and the kernel wrote
        print(f"--- JupyterLab log ({server.log_path}), last {LOG_TAIL_LINES} lines ---\n{server.log_tail()}")


def _summary(state: dict) -> str:
    prompts = " ".join(c["prompt"] for c in state["cells"] if c["code"])
    return f"kernel {state['kernel']!r} ({state['status']}), code cells {prompts or 'none'}"


def _wait(page, what: str, seconds: float, done) -> dict:
    """The page's state (:data:`READ_PAGE`) once ``done(state)``; a failure naming ``what`` if a dialog opens (a
    student would have to answer it) or ``seconds`` pass."""
    deadline = time.monotonic() + seconds
    while True:
        state = page.evaluate(READ_PAGE, [PANEL, STDERR])
        if state["dialog"]:
            pytest.fail(f"{what}: JupyterLab opened a dialog: {state['dialog']!r}; {_summary(state)}")
        if done(state):
            return state
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not done within {seconds} s; the page shows {_summary(state)}")
        time.sleep(0.5)


def _ran(prompt: str) -> bool:
    return any(ch.isdigit() for ch in prompt)


def _menu(page, menu: str, command: str) -> None:
    """A click on ``menu`` in the menu bar, then on its item that runs ``command``."""
    page.locator(".lm-MenuBar-item", has_text=menu).click()
    page.locator(f'.lm-Menu-item[data-command="{command}"]').click()


def _cell_label(nb, index: int) -> str:
    """``cell 18/31 ('first line')``: numbered as the Lab's status bar numbers them."""
    lines = nb.cells[index].source.strip().splitlines() if index < len(nb.cells) else []
    return f"cell {index + 1}/{len(nb.cells)}" + (f" ({lines[0][:70]!r})" if lines else "")


def _page_problems(state: dict, nb) -> list[str]:
    """Each code cell that the page shows not run, or with stderr output."""
    problems = []
    for i, cell in enumerate(state["cells"]):
        if cell["code"] and not _ran(cell["prompt"]):
            problems.append(f"{_cell_label(nb, i)}: not run (prompt {cell['prompt']!r})")
        for text in cell["stderr"] if cell["code"] else []:
            lines = text.strip().splitlines()  # a traceback's end names the error
            problems.append(f"{_cell_label(nb, i)}: stderr: " + "\n".join(lines[-STDERR_LINES:]))
    return problems


def _saved_problems(nb) -> list[str]:
    """Each code cell of the saved notebook that has no execution count, an error, stderr output, or a warning
    written to stdout."""
    problems = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if cell.execution_count is None:
            problems.append(f"{_cell_label(nb, i)}: not run")
        for output in cell.outputs:
            if output.output_type == "error":
                problems.append(f"{_cell_label(nb, i)}: {output.ename}: {output.evalue}")
            elif output.output_type == "stream" and output.name == "stderr":
                problems.append(f"{_cell_label(nb, i)}: stderr: {output.text.strip()}")
            elif output.output_type == "stream" and WARNING_LINE.search(output.text):
                problems.append(f"{_cell_label(nb, i)}: a warning on {output.name}: {output.text.strip()}")
    return problems


def _kernel_facts(lab: Lab, notebook: Path) -> dict:
    """``sys.executable``, ``sys.prefix`` and ``lib.__file__`` in the kernel of ``notebook``, asked through its
    connection file as user expressions: nothing is added to the notebook, its outputs or its history."""
    from jupyter_client import BlockingKernelClient

    sessions = [s for s in lab.api("sessions") if Path(s["path"]).name == notebook.name]
    assert len(sessions) == 1, f"one kernel session expected for {notebook.name}; the Lab has {lab.api('sessions')}"
    client = BlockingKernelClient(connection_file=str(lab.runtime / f"kernel-{sessions[0]['kernel']['id']}.json"))
    client.load_connection_file()
    client.start_channels()
    try:
        expressions = {
            "executable": "__import__('sys').executable",
            "prefix": "__import__('sys').prefix",
            "lib": "__import__('lib').__file__",
        }
        reply = client.execute("", silent=True, user_expressions=expressions, reply=True, timeout=30)
    finally:
        client.stop_channels()
    values = reply["content"]["user_expressions"]
    failed = {name: value for name, value in values.items() if value.get("status") != "ok"}
    assert not failed, f"the kernel could not evaluate {failed}"
    return {name: ast.literal_eval(value["data"]["text/plain"]) for name, value in values.items()}


def _scroll_to(page, index: int) -> None:
    """Cell ``index`` of the open notebook at the top of its view. Cells off screen are laid out at an estimated
    height until drawn, so the scroll is repeated until the cell stays where it was put."""
    cell = page.locator(f"{PANEL} .jp-Cell").nth(index)
    for _ in range(10):
        top = cell.evaluate("(e) => { e.scrollIntoView({block: 'start'}); return e.getBoundingClientRect().top; }")
        time.sleep(0.5)
        if abs(cell.evaluate("(e) => e.getBoundingClientRect().top") - top) < 2:
            return


def _run_all_and_save(page, notebook: Path) -> dict:
    """Open ``notebook`` from the file browser, Run > Run All Cells, wait for the kernel, File > Save Notebook;
    the page's state once the run is over."""
    page.locator(".jp-DirListing-item", has_text=notebook.name).dblclick()
    _wait(
        page,
        f"opening {notebook.name}",
        OPEN_SECONDS,
        lambda s: s["kernel"] not in (None, "No Kernel") and s["status"] == "idle" and s["cells"],
    )
    _menu(page, "Run", "runmenu:run-all")
    started = []

    def finished(state: dict) -> bool:  # every queued cell ran (or was cancelled by an error) and the kernel idles
        prompts = [c["prompt"] for c in state["cells"] if c["code"]]
        running = any("*" in p for p in prompts)
        started.append(running or any(_ran(p) for p in prompts))
        return any(started) and not running and state["status"] == "idle"

    state = _wait(page, "Run > Run All Cells", RUN_SECONDS, finished)
    before = notebook.stat().st_mtime_ns
    _menu(page, "File", "docmanager:save")
    deadline = time.monotonic() + SAVE_SECONDS
    while not _saved(notebook, before) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _saved(notebook, before), f"File > Save Notebook did not write {notebook} in {SAVE_SECONDS} s"
    return state


def _saved(notebook: Path, before: int) -> bool:
    """Whether ``notebook`` was written since ``before`` (its earlier mtime) and the write is whole: the server
    truncates the file before it writes it, so a changed mtime alone may show an empty file."""
    if notebook.stat().st_mtime_ns == before:
        return False
    try:
        json.loads(notebook.read_text(encoding="utf-8"))
    except ValueError:
        return False
    return True


def test_notebook_01_runs_in_jupyterlab_without_error_or_warning(lab, tmp_path):
    from playwright.sync_api import sync_playwright

    notebook = lab.root / NOTEBOOK
    screenshot = Path(os.environ.get("LAB_SCREENSHOT") or tmp_path / "notebook_01.png")
    console: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            tmp_path / "chromium-profile",  # a fresh --user-data-dir
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1440, "height": 900},
        )
        try:
            page = browser.new_page()
            page.set_default_timeout(OPEN_SECONDS * 1000)
            page.on("console", lambda message: console.append(message.text) if message.type == "error" else None)
            page.goto(f"{lab.url}/lab?token={lab.token}")
            try:
                state = _run_all_and_save(page, notebook)
            except BaseException:  # pytest.fail too: what the page showed when it stopped
                with contextlib.suppress(Exception):
                    page.screenshot(path=str(tmp_path / "lab_failure.png"))
                    print(f"the page when the test stopped: {tmp_path / 'lab_failure.png'}")
                raise
            nb = nbformat.read(notebook, as_version=4)
            shown = [
                i
                for i, cell in enumerate(nb.cells)
                if any(kind in output.get("data", {}) for output in cell.get("outputs", []) for kind in IN_VIEW)
            ]
            if shown:
                _scroll_to(page, max(shown[0] - 1, 0))  # with the cell above it (its heading or text)
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(screenshot))
        finally:
            browser.close()

    assert len(state["cells"]) == len(nb.cells), f"the page shows {len(state['cells'])} cells, the file {len(nb.cells)}"
    in_page, saved = _page_problems(state, nb), _saved_problems(nb)
    assert not in_page and not saved, "\n".join(
        [
            f"{NOTEBOOK} in JupyterLab: code cells not run, or with output on stderr or a warning (screenshot: "
            f"{screenshot})",
            "in the page:",
            *in_page,
            "in the saved notebook:",
            *saved,
            *(["browser console errors:", *console] if console else []),
        ]
    )
    kernel = _kernel_facts(lab, notebook)
    venv = Path(sys.executable).parent
    assert Path(kernel["executable"]).parent == venv, (
        f"the notebook's kernel is not the project's environment: it runs {kernel['executable']}, not a Python of "
        f"{venv}; the Lab's kernelspecs: {lab.api('kernelspecs')['kernelspecs']}"
    )
    assert Path(kernel["prefix"]).resolve() == Path(sys.prefix).resolve(), (
        f"the kernel's sys.prefix is {kernel['prefix']}, the project's environment is {sys.prefix}"
    )
    assert Path(kernel["lib"]).resolve().is_relative_to(REPO_ROOT), (
        f"the kernel imports lib from {kernel['lib']}, not from this repository ({REPO_ROOT})"
    )
