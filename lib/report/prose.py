"""The fixed prose of a results page (:mod:`lib.report.page`): what each table and figure is and how to read it,
and how the numbers were made. No result is typed here: every number of a page comes from the files notebook 06
wrote beside it. A few notes are about one data set's files (``DATA_NOTES``); they name no result either.
"""

from __future__ import annotations

INTRO = (
    "Every table below is the file of the same name in this folder (`.md`, with a `.csv` beside it), and every "
    "figure the `.png` shown; this page only puts them together, with what each one is, and each section ends "
    "with the files its numbers come from. The verdicts (findings, protocol findings, fusion and SMOTE) are "
    "computed from `seed_scores.csv`, every score of every run of the study seed by seed, by one rule: a "
    "difference is a gain or a loss only when its interval excludes zero and it exceeds two test flows; "
    "otherwise it is level with, or not separable here."
)

TABLE1 = (
    "One row per model, mean ± standard deviation over the seeds, in percent. Binary runs count attacks as the "
    "positive class, as the paper does, and add **Macro F1** (the benign and the attack F1 averaged), so that a "
    "model calling every flow an attack cannot look good; multi-class runs report macro averages over the "
    "classes. The paper gives one number per cell and no spread, has no SVM, XGBoost or MLP row, and reports "
    "only on CICIDS2017 and IoT-23: on other data the table holds our numbers alone."
)

FINDINGS = (
    "Generated from the scores: the paper's claims, one by one, checked against this run (on data the paper did "
    "not use, as claims about the method, with none of its numbers compared). With one seed there is no "
    "interval, and no difference is called a gain or a loss."
)

DETECTION = (
    "A detector is run at a false-positive rate its operators can afford, not at the argmax of its "
    "probabilities. For each model the alert threshold is set on the **validation** benign rows so that at most "
    "the target share of them raise an alert (score: 1 − P(Benign), in either label mode); the table gives the "
    "share of test attacks detected at that threshold and the false-positive rate it really has on the test rows "
    "(it can exceed the target: that is the honest number). Where the benign validation rows are too few to "
    "resolve a target, the threshold is the highest benign validation score."
)

DEPLOY = (
    "The full pipeline runs every fused deep model once per fold, then the meta-classifier: too slow to watch a "
    "busy network live on a laptop. Notebook 04 distils, for every seed, one small model from the fusion it "
    "saves (trained on the fusion's class probabilities of the training rows, early stopping on its probabilities "
    "of the validation rows; no label and no test row; a small network or small boosted trees, whichever is closer "
    "to the fusion on the validation rows), which `PIPELINE=deploy` saves instead. The table sets it "
    "beside that fusion: macro-F1 with its 95 % test-set interval, detection and test FPR at 1 % FPR (threshold on "
    "the validation benign rows), and the share of test rows on which its decision is the fusion's. How many flows "
    "a second each scores is `benchmarks/bench_score.py`'s to say."
)

#: Said where the folder has the test-set intervals (``intervals.csv``, ``differences.csv``: notebook 06 writes them).
INTERVALS = (
    "**Intervals over the test set.** Beside each of our Table 1 columns (and the macro-F1 and FPR of the protocol "
    "table, and each cell of the fusion table) stands its 95 % interval over the test set: the test rows are "
    "resampled by host pair (rows without addresses by source file; the groups with and without attack flows "
    "apart) and the seeds drawn again in each resample, so that it holds the test rows' sampling as well as the "
    "seeds' spread (the ± holds the seeds' alone). Every verdict on this page (findings, protocol findings, "
    "fusion and SMOTE) calls a difference with the paired interval of these resamples (both models scored on the "
    "same ones): `intervals.csv` and `differences.csv` keep them, so `python -m lib.report` rebuilds the verdicts "
    "from this folder."
)

SHORTCUT = (
    "A model can score well by recognising the file a flow came from instead of the attack when class and file "
    "nearly coincide. On this run's split and features: notebook 02's XGBoost trained to name each flow's source "
    "(capture, day or file) instead of its label, each test flow labelled with its source's most common training "
    "label (what a model that learns only the file would say), both beside chance, and the same XGBoost trained "
    "and tested within one source where that source holds benign and attack flows. The verdict calls class and "
    "source confounded where the file alone puts right at least half of the flows that always guessing the most "
    "common label gets wrong, partly confounded from a tenth."
)

LOCO = (
    "Each capture with attack flows held out whole in turn (the study's `loco` runs, the main run's configuration; "
    "validation rows carved by host pair from the other captures; captures of benign flows only always train). "
    "The first table sets each model's stratified macro-F1 (with its test-set interval) beside its mean over the "
    "held-out captures and their range; the second gives each capture's rows: the flows it tests on, macro-F1 with "
    "its interval, FPR and detection at 1 % FPR. A capture with few attack flows gives a wide interval."
)

OPERATING = (
    "The test rows hold far more attacks than the traffic a detector watches. At the thresholds of the table "
    "above (set on the validation benign flows), this table reads each model at one attack flow in the stated "
    "number (`PREVALENCE` of notebook 06): the **precision** an operator would see (the share of alerts that are "
    "attacks) and the **false alarms per day** at the stated rate of benign flows (its column `From` says where "
    "it comes from: by default the data's own, each source file's benign flows over the time its flows span, the "
    "median over the files, whose rates follow the table; for a data set whose mirror holds extracts, its "
    "published total; else `FLOWS_PER_DAY`), each with its 95 % test-set bootstrap interval, "
    "widened to at least the binomial (Clopper-Pearson) interval of the count where the test rows hold few false "
    "alarms: resamples of a test set with none show none, which says little about the next thousand flows. A "
    "finer rate is set only where the validation rows hold enough benign flows to resolve it; 1 % always (the "
    "highest benign validation score where they are fewer than 100)."
)

#: figure file (no suffix) -> (its one-line caption, what the page says when the run could not draw it)
FIGURES = {
    "fig01_botnet_lifecycle": (
        "Fig. 1 · The botnet's life cycle, drawn from data: flows over time by label (on IoT-23, every flow of "
        "the capture `LIFECYCLE_SCENARIO` by detailed label when the run read it; otherwise the run's own "
        "prepared rows, timed by the first time column that parses).",
        "Fig. 1 was not drawn for this run: none of its rows' time columns parses (notebook 06 prints why).",
    ),
    "fig02_architecture": ("Fig. 2 · Architecture overview, drawn from the fitted pipeline and stages.", ""),
    "fig03_cnn_lstm_layers": ("Fig. 3 · The main model as trained: its layers, shapes and parameters.", ""),
    "fig04_confusion_matrix": ("Fig. 4 · Confusion matrix of the main model on the test rows.", ""),
    "fig05_roc": (
        "Fig. 5 · ROC curves of every model, attack against benign (1 − P(Benign)), the false-positive rate on a "
        "log axis: on a linear one the part of the curve a detector is used at fills its first pixels.",
        "",
    ),
    "fig06_pr": (
        "Fig. 6 · Precision-recall curves of every model (binary: attack positive; multi-class: the one-vs-rest "
        "indicators of every class, micro-averaged); the dotted line is the prevalence.",
        "",
    ),
    "fig07_feature_importance": (
        "Fig. 7 · Feature importance: notebook 02's Random Forest (impurity) and XGBoost (gain), and the main "
        "model's permutation importance on test rows.",
        "",
    ),
    "fig08_training_curves": ("Fig. 8 · Training and validation accuracy and loss of every deep model.", ""),
    "fig08b_model_comparison": (
        "Fig. 8b · Table 1 as bars, mean ± std over seeds, the paper's values as diamonds where it reports on "
        "this data.",
        "",
    ),
    "fig09_zero_day_recall": (
        "Zero-day recall: each held-out attack family, the supervised fusion and XGBoost retrained without it, "
        "every detector alone and the fusion OR the anomaly branch, at the anomaly stage's target FPR.",
        "No zero-day figure: notebook 05 did not run for this run, or held no family out (notebook 06 prints why).",
    ),
    "fig10_smote_roc": (
        "Paper 2's Fig. 10 (ROC): each model trained with and without SMOTE (D2), on the same untouched test rows.",
        "No SMOTE curves for this run: notebook 01 with `SMOTE=True`, then notebooks 02 and 03 with "
        '`TRAIN_SPLIT="train_smote"` draw them.',
    ),
    "fig10_smote_pr": ("Paper 2's Fig. 10 (precision-recall), with and without SMOTE (D2).", ""),
}

IMPORTANCE = (
    "Importance is measured on the original columns (one-hot columns summed back to their feature), three ways: "
    "the impurity importance of notebook 02's Random Forest and the gain importance of its XGBoost (the very "
    "models scored in Table 1, not refitted), and the drop in the main model's accuracy on test rows when a "
    "feature is shuffled."
)

PER_CLASS = (
    "Each run's per-class scores of the Table 1 models: the class's test rows, its recall and its F1 (mean ± "
    "standard deviation over seeds, in percent). A class with no test row has no recall or F1 (blank): a split "
    "that leaves classes out of its test rows is judged on the classes it holds."
)

STUDY = (
    "`make reproduce` runs, besides the main run, the runs listed under `study:` in "
    "`notebooks/params/<dataset>.yaml`: the *tuned* configuration (`runs/<NAME>-tuned/`) and the strict split "
    "protocols (`runs/<NAME>-group/`, `-time/`, `-source/`: host pairs kept apart, earlier → later, whole "
    "captures or days held out), and passes their names to notebook 06 as `STUDY_RUNS`. Every number of these "
    "tables is macro-F1 (binary: the mean of the benign and the attack F1) in percent, mean ± standard deviation "
    "over seeds; FPR is the share of benign test rows called attacks at the argmax. The paper's F1 stands beside "
    "the stratified, paper-faithful row only: that is the protocol and configuration it describes. With no other "
    "run, the tables hold this run alone."
)

CONFIGURATIONS = (
    "A reproduction's verdict is only as honest as its own training. The *tuned* configuration gives the deep "
    "models their fair chance: a sign-preserving `log1p` then standard scaling (min-max squeezes heavy-tailed "
    "flow features into a few bins near 0; untested), on CICIDS2017 also the TCP initial window sizes one-hot encoded beside "
    "their value, and for each deep model a budgeted Optuna search on **validation** macro-F1 (learning rate, "
    "batch size, widths, depth, dropout, a learning-rate schedule), then every seed trained with the best "
    "settings and early stopping. Why a model's score moves between the two configurations (the scaling, the "
    "encoding or the search) is untested: no run changes one of them alone."
)

PROTOCOLS = (
    "Under a strict protocol the test rows share no host pair, no time span or no capture with the training rows "
    "(the columns a split groups or orders by are never features), so near-duplicate flows on both sides of the "
    "split no longer lift the score. The protocol runs use the tuned configuration, searched again on their own "
    "validation rows (the stratified run's validation rows hold flows that are their test flows). Where a strict "
    "split leaves few attack flows in test, the recall side of its rows is noise, while the false-positive side "
    "rests on the benign test flows. Macro averages run over the classes present in the test rows (a prediction "
    "of an absent class counts as an error of the true class)."
)

FUSION = (
    "Cross-fitted stacking (notebook 04): a meta-classifier (Random Forest or XGBoost) over the deep models' "
    "out-of-fold outputs, with validation and test rows going through the same fold models, on the deep outputs "
    "alone (the paper's fusion) and with the features; beside the best single deep model, the trees on the "
    "features and soft voting of notebook 03's networks. The comparisons (each fusion against the best single "
    "deep model, chosen on validation rows, soft voting and XGBoost on the features; macro-F1 in points, paired "
    "by seed) and each run's verdict are computed from `seed_scores.csv` by the rule notebook 04 uses."
)

ZERO_DAY = (
    "Recall on each attack family that no model saw, at fixed false-positive rates. For each held-out family, "
    "notebook 01's preprocessing (feature selection, imputer, scaler, one-hot vocabulary) is fitted again on the "
    "training rows without it, on the run's own split and test rows; in that space the supervised baselines are "
    "retrained without the family (XGBoost on the features, and the decision fusion) and every benign-only "
    "detector of notebook 05 is fitted again (autoencoder, KitNET-style ensemble of small autoencoders, distance "
    "to the nearest benign training flows, Isolation Forest). Each detector's setting and the anomaly branch "
    "(`branch`) are chosen on the other families' validation rows, or stay at the first setting of the grid "
    "where no other family has enough validation rows (`MIN_CHOICE_ROWS`): the column `chosen_on` says which, "
    "and why. Every threshold is set on benign validation rows. Per family and overall here; per seed in "
    "[`zero_day_per_seed.md`](zero_day_per_seed.md). A family is held out only when it has enough training and "
    "test rows (`MIN_FAMILY_ROWS`)."
)

SMOTE = (
    "Paper 2 trains the hybrid on unbalanced data and on a SMOTE-balanced set D2. The study's `smote` step trains "
    "notebooks 02 and 03 again on D2 (the training rows oversampled; validation and test rows untouched). The "
    "table sets each model trained both ways side by side (macro-F1 and ROC-AUC in percent, the SMOTE − "
    "unbalanced difference paired by seed and called by the one rule), and the curves draw the first seed."
)

#: The head of a page (and a line of the README block) whose folder has no ``seed_scores.csv``: its files were
#: written before notebook 06 wrote that file, so before the rules the method below states.
EARLIER_RULES = (
    "**Written under earlier rules.** This folder has no `seed_scores.csv`: its tables and verdicts come from an "
    "earlier version of the notebooks, in which copies of a flow with different `label_detail` both survived "
    "deduplication, macro averages counted predicted classes absent from the test rows, verdicts ranked models on "
    "their means, and the zero-day test's preprocessing was fitted on rows that include the held-out family. The "
    "numbers below are kept until the study is rerun (`make reproduce`); the method described at the end is the "
    "current one, not theirs."
)

WALL_TIMES = (
    "Wall time of every notebook of the study, copied by notebook 06 from each run's `notebooks/wall_times.csv` "
    "(written by the runner; the latest complete execution of each notebook, `reused` where `--resume` reused a "
    "stage). On a "
    "machine shared with other jobs, these are upper bounds."
)
NO_WALL_TIMES = (
    "The wall times of this study's notebooks are not recorded here: `wall_times.md` is not in this folder "
    "(notebook 06 copies it from the runs' `notebooks/wall_times.csv`)."
)

#: How the numbers were made: the same for every data set.
METHOD = """\
### Preprocessing (paper 1 §II.A), fitted on training rows only

1. Copies of one flow are removed **before** splitting, found on the features alone (float features compared
   at `DEDUP_DIGITS` significant digits, default 8), whatever their labels: each group keeps one row (the
   finest `label_detail`; copies with conflicting labels keep one row of their majority label, or none on a
   tie: `DEDUP_CONFLICTS`), and every removal is counted per class and rule (`DEDUP=True`; notebook 01 shows
   the table, the run's metadata holds it).
2. Labels: `LABEL_MODE="binary"` (Benign vs Attack) or `"multiclass"` (attack families; families under
   `MIN_CLASS_COUNT` rows are merged into `OtherAttack`, or dropped, and logged). Benign is class 0.
3. Stratified train/test split (paper 1; `SPLIT=stratified`), and a stratified validation part (`VAL_SIZE`)
   of the training rows for early stopping and model selection. `SPLIT=group`, `time` or `source` are the strict
   protocols of the study; each records in `meta.json` its groups, time ranges or sources per split, and a class
   absent from training is named in a warning, never dropped.
4. Feature selection on training rows: identifiers out (`KEEP_IDENTIFIERS=True` keeps them, with a warning
   that it leaks), constant and duplicate columns out, and columns that the training rows of whole source files
   lack out (mixing files of different layouts would otherwise let missingness reveal the file, and so the
   label).
5. Scikit-learn pipelines over the features: `inf` → NaN, median imputation, min-max scaling of numeric columns
   (`SCALING=minmax`, paper 1; `log_minmax` and `log_standard` apply sign(x)·log1p(|x|) first, `quantile` maps
   each column to its training quantiles), one-hot encoding of the categorical ones (at most `MAX_CATEGORIES`
   columns each); `CATEGORY_COLUMNS` names numeric columns also one-hot encoded by value.
6. `SMOTE=True` oversamples the training rows (never validation or test rows) with imbalanced-learn: paper 2's
   D2 is taken to be the training split with every minority class raised to the majority count, the test split
   keeping its natural class mix (SMOTE before splitting would put synthetic flows made from test flows'
   neighbours into the evaluation).

### Models and training (what the paper does not say, and what we chose)

The paper gives no hyperparameters. The defaults (notebook 03's parameters cell, documented in `lib/models.py`)
follow the configuration most used in published Conv1D+LSTM intrusion-detection work: each flow's preprocessed
feature vector is read as a sequence with one channel; two Conv1D layers → max pooling → LSTM → Dense →
Dropout → sigmoid (binary) or softmax (multi-class). CNN-only and LSTM-only drop one half and keep the rest;
the MLP (not in the paper) reads the flow as a flat vector. Adam, early stopping on the validation loss with
the best weights restored, gradient-norm clipping. The "temporal" sequence the LSTM reads is the order of a
flow's features, not time: the paper describes no windows of consecutive flows.

Baselines on the same features and split (notebook 02, `lib/baselines.py`): Random Forest; an RBF SVM
approximated by a Nystroem map and a linear SVM, calibrated to probabilities (an exact kernel SVM does not
scale to millions of flows); XGBoost as a reference. Decision fusion (notebook 04, `lib/fusion/`): the
cross-fitted stacking described above, its meta-classifiers' settings chosen by validation log loss. Anomaly
branch (notebook 05, `lib/anomaly/`): four detectors trained on benign training flows only, each with a small
grid, thresholds on benign validation flows; the detector with the best recall on the validation rows' attack
families becomes the branch (the grid's first detector where no family has enough validation rows, and the
tables say so); in the zero-day test all of it, and notebook 01's preprocessing, is fitted again without the
held-out family, the choice made on the other families' validation rows. Everything is
seeded from one `SEED`; the seeds of a run are `SEED`, `SEED+1`, ...

### Deviations from the papers

* Paper 1 trains on "CICIDS2017 + IoT-23". The two have no common feature set (CICFlowMeter vs Zeek), so each
  data set is prepared and reported on its own.
* Paper 1 lists source and destination IP among its features. Addresses, ports and times are left out by
  default: on IoT-23 the infected host's address alone gives the label away.
* Paper 1 does not deduplicate; we do, before splitting, and count what that removes.
* Paper 1 gives no validation split; we carve one from the training part, so that early stopping and model
  selection never see the test rows.
* Paper 1 reports one number per cell; we report mean ± std over seeds, and say when differences are smaller
  than two test flows.
* Paper 2's numbers come from the full BoT-IoT, which the mirror does not hold, so none is compared; its D2 is
  built as above (SMOTE on training rows only).
* The mirror holds a few of IoT-23's scenarios and small CICIDS2017 samples: these are sample numbers, not the
  full data sets'.

### Where the numbers come from

Each notebook writes one *stage* of its run folder `runs/<NAME>/` through `lib/run/`; every stage has a
`manifest.json` (the notebook, the parameters it ran with, the fingerprints of the stages it read and its own).
Opening a stage checks that it finished and that every stage it read is unchanged; otherwise the error names the
notebook to rerun. Notebook 06 reads Table 1 from notebooks 02 and 03's score files, draws Fig. 7 from notebook
02's fitted forests and Fig. 3 from notebook 03's network (nothing refitted), and writes this folder and this
page. Two runs with the same `SEED` give byte-identical score files, and identical inputs give identical figures.
"""

#: Notes about one data set's files (keyed by the page's data set), by section; they name no result.
DATA_NOTES = {
    "iot23": {
        "table1": (
            "Where the models of the stratified split all sit at one ceiling, one possible cause is in the data "
            "(untested: no run of the study measures it): benign flows of the Trojan capture 42-1 may have Zeek "
            "features like the Mirai flows of capture 34-1, and after deduplication some flows can share their "
            "exact features with a flow of the other label. The companion table shows what the ceiling costs at a "
            "fixed rate."
        ),
        "protocols": (
            "On the IoT-23 mirror `group`, `time` and `source` leave few attack flows in their test rows (the "
            "per-class table below gives each run's test rows per class): read their FPR column, not their recall."
        ),
        "zero_day": (
            "On the IoT-23 mirror only C&C has enough distinct flows to be held out; DDoS, PortScan and "
            "FileDownload are too small after deduplication. With C&C held out, the settings and the branch are "
            "chosen on the other families' validation flows only where one of them has `MIN_CHOICE_ROWS` flows; "
            "otherwise each stays at the first setting of its grid, and the column `chosen_on` says so."
        ),
    },
    "cicids2017": {
        "protocols": (
            "On the CICIDS2017 mirror only `stratified` and `source` are possible: most rows come from files with "
            "no addresses, no `Flow ID` and no parseable `Timestamp`. `source` holds Friday out "
            "(`TEST_SOURCES=Friday`); the mirror's grouped sample has no day in its file name or timestamp, so its "
            "DoS and PortScan rows stay in training whatever their day (whether that makes the row optimistic is "
            "untested). Friday's test rows lack several classes (the per-class table below lists them)."
        ),
        "fig01_botnet_lifecycle": (
            "On the CICIDS2017 sample one derived file label-encodes `Timestamp`, so too few of the sampled rows' "
            "times parse and Fig. 1 is skipped."
        ),
    },
}
