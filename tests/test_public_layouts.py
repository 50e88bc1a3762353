"""Every public layout of the format corpus (tests/corpus.py) through notebook 01, and one of them through every
notebook of the chain, by the runner, at tiny size: the formats are under test here, the models in
tests/test_notebooks.py."""

from __future__ import annotations

import corpus  # tests/corpus.py: the format corpus
import pytest
from test_notebooks import TINY, tiny_per_notebook

from lib import run, runner
from lib.anomaly import eligible_families
from lib.metrics import bootstrap

#: The layout that runs every notebook: a format reaches the notebooks after 01 only through the prepared rows (the
#: arrays, the labels and the identifier columns, checked below for every layout). CSE-CIC-IDS2018: several files, a
#: multi-class label whose classes the zero-day test holds out, no addresses (test-set resamples by source file).
#: A binary label with addresses (resamples by host pair) and families goes through every notebook on the IoT-23
#: mirror in tests/test_notebooks.py.
EVERY_NOTEBOOK = ("cse_cic_ids2018",)
#: What the later notebooks read from each layout's prepared rows: the test-set bootstrap's groups (the columns of
#: an address pair, or the source file) and the attack families the zero-day test could hold out (at
#: ``MIN_FAMILY_ROWS`` of the chain). A binary label without a family column names one family: none to hold out.
READ_LATER = {
    "ctu_zeek": ("id.orig_h/id.resp_h", ["C&C", "DDoS", "PortScan"]),
    "unsw_nb15": ("srcip/dstip", []),
    "iotid20": ("Src_IP/Dst_IP", []),
    "cse_cic_ids2018": (
        "source file",
        ["DoS attacks-GoldenEye", "DoS attacks-Hulk", "FTP-BruteForce", "SSH-Bruteforce"],
    ),
    "ton_iot": ("src_ip/dst_ip", []),
}


@pytest.mark.smoke
@pytest.mark.parametrize("name", sorted(corpus.CORPUS))
def test_a_public_format_runs_every_notebook(name, tmp_path):
    """Each corpus data set (a real public layout, written by tests/corpus.py) runs through the runner at tiny
    size under its default name, 01 alone or (:data:`EVERY_NOTEBOOK`) the whole chain; identifiers and label columns
    never become features."""
    fixture = corpus.CORPUS[name](tmp_path / "data")
    params = dict(fixture.params)
    dataset = params.pop("DATASET")
    expected_name = run.default_name(dataset, params["DATA_FILES"])
    figures_dir = tmp_path / "figures"
    # the format is under test, not the models (the chain runs them all): the hybrid and the MLP, two detectors
    lean = {"DEEP_MODELS": "cnn_lstm,mlp", "FUSION_DEEP_MODELS": "cnn_lstm", "DETECTORS": "autoencoder,knn"}
    per = tiny_per_notebook(FIGURES_DIR=str(figures_dir), **lean)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(tmp_path)  # runs/<name> is relative to the repository root: pass RUN_DIR to keep it in tmp
        only = None if name in EVERY_NOTEBOOK else ["01"]
        executed = runner.run(dataset, params | {"RUN_DIR": str(tmp_path / "runs" / expected_name)},
                              only=only, per_notebook=per, log=lambda *_: None)  # fmt: skip
    assert [p.name for p in executed] == [p.name for p in runner.notebooks(only)]
    folder = run.RunDir(tmp_path / "runs" / expected_name)
    assert folder.name == expected_name
    data = folder.load_prepared()
    report = data.meta["report"]
    used = set(report["numeric_columns"]) | set(report["categorical_columns"])
    assert set(corpus.IDENTIFIERS[name]) <= set(report["identifier_columns"])
    assert set(corpus.LEAK_COLUMNS[name]) - {"detailedlabel"} <= set(report["label_columns"])  # Zeek's: label_detail
    assert not (set(corpus.IDENTIFIERS[name]) | set(corpus.LEAK_COLUMNS[name])) & used
    groups, described = bootstrap.test_groups(data.rows["test"])
    grouped_by, families = READ_LATER[name]
    assert described.startswith(grouped_by) and 1 <= len(set(groups)) <= len(data.y_test), described
    held_out, _ = eligible_families(data.rows, {"train": data.y_train, "test": data.y_test}, TINY["MIN_FAMILY_ROWS"])
    assert held_out == families
    if only:
        return
    assert (figures_dir / expected_name / "table1.csv").exists()
    findings = (figures_dir / expected_name / "findings.md").read_text()
    assert "nan" not in findings.lower()
    published = figures_dir / expected_name / "notebooks"  # the runner publishes a main run after notebook 06
    assert sorted(p.name for p in published.glob("*.ipynb")) == [p.name for p in runner.notebooks()]
    assert not [p.name for p in published.glob("*.ipynb") if str(tmp_path) in p.read_text()]
