"""Library behind the notebooks in ``notebooks/``: one small module per step of the pipeline.

datasets → preprocess → (models, baselines) → (fusion, anomaly) → metrics → (figures, report). ``run`` owns
``RUN_DIR``: every artefact a notebook hands to the next goes through it, with provenance checks;
``runner`` executes the notebooks in order with papermill; ``session`` is the notebooks' set-up cell.
Install it with ``pip install -e .`` (``make setup`` does).
"""
