"""lib/progress.py: under the runner a bar is text on the process's real standard output, not the notebook's."""

from __future__ import annotations

import pytest

from lib import progress


@pytest.fixture
def fresh_terminal():
    progress._terminal.cache_clear()
    yield
    progress._terminal.cache_clear()


def test_under_the_runner_a_bar_is_text_on_standard_output(monkeypatch, capfd, fresh_terminal):
    monkeypatch.setenv(progress.TERMINAL, "1")
    assert list(progress.bar(range(3), desc="folds of the test")) == [0, 1, 2]
    out, err = capfd.readouterr()
    assert "folds of the test" in out and "3/3" in out and "folds of the test" not in err


def test_elsewhere_a_bar_is_tqdm_auto_on_standard_error(monkeypatch, capfd, fresh_terminal):
    monkeypatch.delenv(progress.TERMINAL, raising=False)
    assert sum(progress.bar(range(4), desc="elsewhere")) == 6
    out, err = capfd.readouterr()
    assert "elsewhere" in err and "elsewhere" not in out
