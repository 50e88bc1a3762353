"""The paper's Table 1, the data sets it reports on, and the display names of every model and contender."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: Table 1 of the paper, in percent. The paper has no SVM row and reports no spread or number of runs.
#: Its scores are attack-vs-benign (the TP/FP formulas of Section II.B); the paper evaluates on CICIDS2017 and
#: IoT-23 (Section II) and does not say which of the two, or both pooled, each number comes from.
PAPER1_TABLE1: dict[str, dict[str, float]] = {
    "Random Forest": {"Accuracy": 89.5, "Precision": 87.2, "Recall": 85.4, "F1-Score": 86.3},
    "CNN-Only": {"Accuracy": 91.2, "Precision": 89.5, "Recall": 88.1, "F1-Score": 88.8},
    "LSTM-Only": {"Accuracy": 92.1, "Precision": 90.3, "Recall": 89.8, "F1-Score": 90.0},
    "CNN-LSTM Hybrid": {"Accuracy": 96.5, "Precision": 94.8, "Recall": 95.1, "F1-Score": 95.0},
}

#: The registered data sets paper 1 reports Table 1 on (``DATASET`` -> the paper's name for it). Anywhere else
#: (BoT-IoT, a user's own table) the paper has no number to compare with.
PAPER1_DATASETS: dict[str, str] = {"iot23": "IoT-23", "cicids2017": "CICIDS2017"}

#: Model ids used in file names and CSVs -> the names Table 1 uses (baselines the paper lacks included).
MODEL_NAMES: dict[str, str] = {
    "random_forest": "Random Forest",
    "svm": "SVM",
    "xgboost": "XGBoost",
    "cnn_only": "CNN-Only",
    "lstm_only": "LSTM-Only",
    "cnn_lstm": "CNN-LSTM Hybrid",
    "mlp": "MLP",
}

#: Notebook 04's deployment variant of the fusion: one small network distilled from it (``PIPELINE=deploy``).
DEPLOY_CONTENDER = "fusion_deploy"

#: Display names of notebook 04's contenders (the deep models and baselines keep their Table 1 names); here so
#: that notebook 06 can name them without importing the fusion's Keras code.
CONTENDER_NAMES: dict[str, str] = {
    **MODEL_NAMES,
    "fusion_random_forest": "Fusion (RF meta)",
    "fusion_xgboost": "Fusion (XGBoost meta)",
    "fusion_random_forest_features": "Fusion + features (RF meta)",
    "fusion_xgboost_features": "Fusion + features (XGBoost meta)",
    "fusion_deploy": "Fusion, deployment variant (distilled)",
    "soft_voting": "Soft voting",
    "random_forest": "Random Forest (features)",
    "xgboost": "XGBoost (features)",
}

#: Table 1 column -> key of :func:`evaluate`'s result.
TABLE1_COLUMNS: dict[str, str] = {
    "Accuracy": "accuracy",
    "Precision": "precision",
    "Recall": "recall",
    "F1-Score": "f1",
}
#: Extra Table 1 column of binary runs: the mean of the benign and the attack F1 (key of :func:`evaluate`).
MACRO_F1_COLUMN: dict[str, str] = {"Macro F1": "f1_macro"}


def display_names(by_model: Mapping[str, Any], names: Mapping[str, str] = MODEL_NAMES) -> dict[str, Any]:
    """``by_model`` keyed by display names (``cnn_lstm`` -> ``CNN-LSTM Hybrid``; unknown ids stay as they are)."""
    return {names.get(model, model): value for model, value in by_model.items()}
