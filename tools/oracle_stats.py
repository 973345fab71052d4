#!/usr/bin/env python3
"""oracle_stats.py: reference values for pifi's experiment statistics
(src/exp/stats.c): mean, sample standard deviation (numpy std with ddof=1)
and Welch's unequal-variance t-test (scipy.stats.ttest_ind(a, b,
equal_var=False): t, Welch-Satterthwaite df, two-sided p).

Writes tests/fixtures/stats/welch.json, read by tests/test_stats.c, which
must match every value to 1e-9 (relative where larger than 1). Non-finite
values are written as the strings "nan", "inf", "-inf".

    /root/oracle-venv/bin/python tools/oracle_stats.py
"""
import json
import math
import os

import numpy as np
import scipy
from scipy import stats

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "stats", "welch.json")


def num(x):
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def case(name, a, b):
    a = [float(v) for v in a]
    b = [float(v) for v in b]
    r = stats.ttest_ind(a, b, equal_var=False)
    # scipy gives a df only where the test is defined; pifi reports NaN elsewhere
    df = getattr(r, "df", float("nan"))
    return {
        "name": name,
        "a": a,
        "b": b,
        "mean_a": num(np.mean(a)) if a else "nan",
        "std_a": num(np.std(a, ddof=1)) if len(a) > 1 else "nan",
        "mean_b": num(np.mean(b)) if b else "nan",
        "std_b": num(np.std(b, ddof=1)) if len(b) > 1 else "nan",
        "t": num(r.statistic),
        "df": num(df),
        "p": num(r.pvalue),
    }


def main():
    rng = np.random.default_rng(2023)
    cases = [
        # five seeds of accuracies, as a grid reports them
        case("acc5", [0.8123, 0.8207, 0.8151, 0.8189, 0.8098], [0.8011, 0.7987, 0.8052, 0.8033, 0.7969]),
        case("acc5_close", [0.9, 0.91, 0.905, 0.895, 0.9], [0.901, 0.899, 0.9, 0.902, 0.898]),
        case("mcc3", [0.42, 0.47, 0.39], [0.31, 0.36, 0.33]),
        case("two_each", [0.5, 0.6], [0.55, 0.65]),
        case("unequal_n", [0.7, 0.72, 0.69, 0.71, 0.73, 0.7, 0.74], [0.6, 0.75]),
        case("unequal_var", [0.80, 0.80001, 0.79999], [0.5, 0.9, 0.7, 0.6, 0.85]),
        case("far_apart", [0.95, 0.951, 0.949, 0.9505, 0.9495], [0.5, 0.501, 0.499, 0.5005, 0.4995]),
        case("negative", [-0.1, -0.2, 0.05], [0.1, 0.0, 0.2]),
        # edge cases: fewer than two values, constant groups
        case("one_value", [0.8], [0.7, 0.75]),
        case("const_differ", [1.0, 1.0, 1.0], [2.0, 2.0, 2.0]),
        case("const_equal", [0.5, 0.5], [0.5, 0.5, 0.5]),
        case("one_const", [0.5, 0.5, 0.5], [0.4, 0.6, 0.5]),
    ]
    for i in range(12):
        na, nb = int(rng.integers(2, 11)), int(rng.integers(2, 11))
        sa, sb = float(rng.uniform(0.001, 0.05)), float(rng.uniform(0.001, 0.05))
        a = np.round(rng.normal(0.8, sa, na), 6)
        b = np.round(rng.normal(0.8 + float(rng.uniform(-0.03, 0.03)), sb, nb), 6)
        cases.append(case(f"random{i}", a, b))
    doc = {
        "generator": "tools/oracle_stats.py",
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "std": "sample standard deviation, ddof = 1",
        "test": "scipy.stats.ttest_ind(a, b, equal_var=False), two-sided",
        "cases": cases,
    }
    with open(OUT, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print(f"wrote {len(cases)} cases to {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
