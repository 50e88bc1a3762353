"""Library behind the notebooks in ``notebooks/``: one small module (or package) per job, in layers that import
only downward (``tests/test_layers.py`` reads the imports and fails on an upward one or a cycle)::

    paths, io, progress, registry     where the project lives; atomic writes, JSON, hashes, safe skops loading
    datasets                          the real data sets in their original formats, and any labelled flow table
    preprocess                        labels and dedup, splits, features, ``prepare`` (notebook 01)
    metrics                           scores, operating points, Table 1, timings, the verdict rule
    baselines, models, tuning,        the learners (notebooks 02-05): each returns its results and saves and
    fusion, anomaly                   loads its own objects; none knows the run folder
    run                               ``RUN_DIR``: stages, checked folders and fingerprints, no model knowledge
    figures                           every figure, one ``save_fig``
    report, runner, score, session    notebook 06's tables and pages, the papermill runner, ``iot-botnet score``,
                                      the notebooks' set-up cell

Install it with ``pip install -e .`` (``make setup`` does).
"""
