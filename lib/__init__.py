"""Library behind the notebooks in ``notebooks/``: one small module per step of the pipeline.

datasets → preprocess → (models, baselines) → metrics; ``artifacts`` carries results between
notebooks through ``RUN_DIR``; ``runner`` executes the notebooks in order with papermill.
"""
