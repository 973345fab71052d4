#!/usr/bin/env python3
"""oracle_metrics.py: reference classification metrics from scikit-learn.

Writes tests/fixtures/metrics/<case>.json for tests/test_metrics.c: seeded
random labels/predictions (2, 3 and 5 classes, plus edge cases) and what
sklearn computes for them. Floats are written by json (shortest repr that
round-trips, so full double precision).

    python tools/oracle_metrics.py [OUT_DIR]
"""
import json
import os
import sys

import numpy as np
import sklearn
from sklearn.metrics import (accuracy_score, confusion_matrix, f1_score, matthews_corrcoef,
                             precision_recall_fscore_support)


def case(name, y_true, y_pred, num_classes):
    labels = list(range(num_classes))
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    return name, {
        "num_classes": num_classes,
        "y_true": [int(v) for v in y_true],
        "y_pred": [int(v) for v in y_pred],
        "accuracy": float(accuracy_score(y_true, y_pred)),
        # sklearn's default: macro over the labels present in y_true or y_pred
        "macro_f1": float(f1_score(y_true, y_pred, average="macro", zero_division=0)),
        "mcc": float(matthews_corrcoef(y_true, y_pred)),
        "precision": [float(v) for v in p],
        "recall": [float(v) for v in r],
        "f1": [float(v) for v in f],
        "support": [int(v) for v in s],
        "confusion": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    }


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..",
                                                             "tests", "fixtures", "metrics")
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(2023)
    cases = []
    for C, n in ((2, 997), (3, 1500), (5, 2311)):
        y = rng.integers(0, C, n)
        # predictions right about 60% of the time, else a random class: realistic scores
        pred = np.where(rng.random(n) < 0.6, y, rng.integers(0, C, n))
        cases.append(case(f"random_{C}class", y, pred, C))
    # skewed binary (CoLA-like: 70% positive), weak classifier
    y = (rng.random(527) < 0.7).astype(int)
    pred = np.where(rng.random(527) < 0.3, 1 - y, y)
    cases.append(case("skewed_2class", y, pred, 2))
    # 5 classes where class 4 never occurs and class 3 is never predicted
    y = rng.integers(0, 4, 300)
    pred = np.where(rng.random(300) < 0.5, y, rng.integers(0, 3, 300))
    pred = np.where(pred == 3, 0, pred)
    cases.append(case("absent_class_5", y, pred, 5))
    # constant predictor: MCC undefined -> 0
    y = rng.integers(0, 3, 100)
    cases.append(case("constant_pred_3", y, np.ones(100, dtype=int), 3))
    # perfect
    y = rng.integers(0, 2, 50)
    cases.append(case("perfect_2", y, y.copy(), 2))
    for name, d in cases:
        with open(os.path.join(out, name + ".json"), "w") as f:
            json.dump(d, f)
            f.write("\n")
    with open(os.path.join(out, "meta.json"), "w") as f:
        json.dump({"sklearn": sklearn.__version__, "numpy": np.__version__,
                   "cases": [c[0] for c in cases]}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
