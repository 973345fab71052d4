"""Writes tests/fixtures/squad/: the official SQuAD v1.1 evaluation's
numbers for predictions made here, so tests/test_squad.c can check pifi's
reader and metric (src/data/squad*.c) against them.

The oracle is the official v1.1 script (bi-att-flow's evaluate-v1.1.py) as
Intel's neural-compressor ships it on PyPI (neural_compressor/metric/
evaluate_squad.py and f1.py, version 2.6): its wheel is fetched with
`pip download --no-deps` and the two files are loaded with a stub for the
package's logger, so nothing else of the package is needed.

normalize.json: 600+ strings (answers of XQuAD-en and made-up ones: Unicode
letters and marks, U+0130, final sigma, articles at word boundaries, every
Python whitespace, ASCII and non-ASCII punctuation, CJK, emoji) and
normalize_answer of each.
xquad_pred.json: a prediction for most XQuAD-en questions (the gold, a
longer or shorter span, case and punctuation changes, articles, a wrong
sentence, empty strings) -- some questions have none -- and
xquad_scores.json: evaluate()'s exact_match and f1 plus every question's
best exact and f1.
unicode.json + unicode_pred.json + unicode_scores.json: the same for a
small made-up dataset whose gold answers are the hard Unicode cases.

usage: oracle_squad.py --data ../shared/data --out tests/fixtures/squad
"""

import argparse
import glob
import importlib.util
import json
import os
import random
import subprocess
import sys
import tempfile
import types
import zipfile

NC_VERSION = "2.6"


def load_official(tmp):
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--dest", tmp,
                    f"neural-compressor=={NC_VERSION}"], check=True)
    whl = glob.glob(os.path.join(tmp, "neural_compressor-*.whl"))[0]
    with zipfile.ZipFile(whl) as z:
        z.extract("neural_compressor/metric/f1.py", tmp)
        z.extract("neural_compressor/metric/evaluate_squad.py", tmp)
    # the package's logger is all f1.py imports besides the standard library
    pkg = types.ModuleType("neural_compressor")
    pkg.__path__ = []
    utils = types.ModuleType("neural_compressor.utils")
    utils.logger = types.SimpleNamespace(info=print, warning=print, error=print)
    metric = types.ModuleType("neural_compressor.metric")
    metric.__path__ = [os.path.join(tmp, "neural_compressor", "metric")]
    sys.modules.update({"neural_compressor": pkg, "neural_compressor.utils": utils,
                        "neural_compressor.metric": metric})
    mods = {}
    for name in ("f1", "evaluate_squad"):
        spec = importlib.util.spec_from_file_location(f"neural_compressor.metric.{name}",
                                                      os.path.join(tmp, "neural_compressor", "metric", name + ".py"))
        m = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = m
        spec.loader.exec_module(m)
        mods[name] = m
    return mods["f1"], mods["evaluate_squad"]


HARD = [
    "İstanbul", "İİ the İ", "ΟΔΥΣΣΕΥΣ", "ΣΑΣ Σ", "Σ", "aΣ", "aΣb", "aΣ'", "a'Σ", "ΑΣ.Β", "ὈΔΥΣΣΕΎΣ",
    "The Cat", "a", "an", "the", "The", "THE", "A an The", "the_end", "the-end", "a.b", "anthem", "than",
    "the2", "2the", "a1", "théâtre the", "the\u0301 cat", "e\u0301 the", "the\u00a0end", "x\u3000the\u3000y",
    "a\u2028b", "the\u200bend", "the\u2060end", "tab\tthe\nend\r", "\u001cthe\u001fx", "x\u0085the",
    "naïve café", "ＴＨＥ ＡＮ", "Ｔｈｅ cat", "１２３", "٣ the ٤", "Ⅻ the", "ǅungla", "ǈ", "ﬁne the",
    "ß the", "ẞ", "Kelvin \u212a", "\u2126mega", "the 🐈 cat", "😀the😀", "中文 the 日本", "the中", "中the",
    "«the»", "“the”", "the…", "—the—", "¡the!", "¿a?", "the's", "l'the", "o'the", "$100", "50%", "#1 the",
    "", " ", "   the   ", "...", "!!!", "a a a", "the the", "an an", "A.B.C.", "U.S.", "e.g. the",
    "Mr. the", "1,000,000", "3.14", "1/2", "ﾃｽﾄ", "Ａ", "Ｂ the", "ΐ", "ΰ", "ŉ", "ǰ", "ᾈ", "ﬀ", "İi",
    "x\u0345y", "ⓐ the ⓑ", "Ⓐn", "ᵃ the", "ªthe", "ºan",
]


def made_up(rng, n):
    """Strings mixing the hard pieces, words, spaces and punctuation."""
    pieces = HARD + ["cat", "dog", "the", "a", "an", "The", "AN", ",", ".", ";", "(", ")", "'", '"', "-",
                     "\u00a0", "\u2009", "\t", "\n", "  ", "Σ", "σ", "ς", "İ", "é", "e\u0301", "日本", "🎉", "_"]
    out = []
    for _ in range(n):
        k = rng.randint(1, 7)
        out.append("".join(rng.choice(pieces) + rng.choice(["", " ", "", "  "]) for _ in range(k)))
    return out


def perturb(rng, gold, context, other):
    """A prediction for a question: some function of a gold answer."""
    r = rng.random()
    if r < 0.25:
        return gold
    if r < 0.35:
        return gold.upper()
    if r < 0.45:
        return "the " + gold + "."
    if r < 0.55:
        words = gold.split()
        return " ".join(words[: max(1, len(words) // 2)])
    if r < 0.65:
        i = context.find(gold)
        return context[max(0, i - 15): i + len(gold) + 15] if i >= 0 else gold
    if r < 0.72:
        return ""
    if r < 0.8:
        return other
    if r < 0.9:
        return gold.replace(" ", "\u00a0") + " ,"
    return rng.choice(HARD) + " " + gold


def questions(dataset):
    for art in dataset["data"]:
        for par in art["paragraphs"]:
            for qa in par["qas"]:
                yield par["context"], qa


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    rng = random.Random(20261207)
    os.makedirs(args.out, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        f1mod, ev = load_official(tmp)
    xquad_path = os.path.join(args.data, "squad_v1.1_dev_subset_xquad", "xquad.en.json")
    with open(xquad_path) as f:
        xquad = json.load(f)

    # normalize_answer on many strings
    golds = [a["text"] for _, qa in questions(xquad) for a in qa["answers"]]
    strings = HARD + made_up(rng, 400) + rng.sample(golds, 200)
    norm = [{"s": s, "normalized": f1mod.normalize_answer(s)} for s in strings]
    with open(os.path.join(args.out, "normalize.json"), "w") as f:
        json.dump({"oracle": f"neural-compressor {NC_VERSION} metric/f1.py normalize_answer",
                   "python": sys.version.split()[0], "cases": norm}, f, ensure_ascii=False, indent=0)

    def score(dataset, preds, name):
        with open(os.path.join(args.out, name + "_pred.json"), "w") as f:
            json.dump(preds, f, ensure_ascii=False, indent=0)
        res = ev.evaluate(dataset["data"], preds)
        per = []
        for _, qa in questions(dataset):
            gts = [a["text"] for a in qa["answers"]]
            p = preds.get(qa["id"])
            if p is None:
                per.append({"id": qa["id"], "exact": 0, "f1": 0.0, "answered": False})
            else:
                per.append({"id": qa["id"], "answered": True,
                            "exact": int(ev.metric_max_over_ground_truths(ev.exact_match_score, p, gts)),
                            "f1": float(ev.metric_max_over_ground_truths(ev.f1_score, p, gts))})
        with open(os.path.join(args.out, name + "_scores.json"), "w") as f:
            json.dump({"exact_match": res["exact_match"], "f1": res["f1"], "stdout": json.dumps(res),
                       "questions": per}, f, indent=0)
        print(name, res, len(preds), "predictions", file=sys.stderr)

    # XQuAD-en: a prediction for ~92% of the questions
    qs = list(questions(xquad))
    preds = {}
    for context, qa in qs:
        if rng.random() < 0.08:
            continue
        other = rng.choice(qs)[1]["answers"][0]["text"]
        preds[qa["id"]] = perturb(rng, rng.choice(qa["answers"])["text"], context, other)
    score(xquad, preds, "xquad")

    # made-up dataset: hard golds, several per question
    hard = [h for h in HARD if h.strip()]
    paragraphs = []
    preds = {}
    qid = 0
    for i in range(0, len(hard), 6):
        chunk = hard[i: i + 6]
        context = " | ".join(chunk)
        qas = []
        for j, g in enumerate(chunk):
            start = len(" | ".join(chunk[:j])) + (3 if j else 0)
            assert context[start: start + len(g)] == g
            answers = [{"text": g, "answer_start": start}]
            if j + 1 < len(chunk):  # a second gold: the next piece
                s2 = len(" | ".join(chunk[: j + 1])) + 3
                answers.append({"text": chunk[j + 1], "answer_start": s2})
            qid += 1
            qas.append({"id": f"u{qid:03d}", "question": f"which piece is number {j}?", "answers": answers})
            preds[f"u{qid:03d}"] = rng.choice([g, g.lower(), g.upper(), "the " + g, rng.choice(hard), "", g + "!"])
        paragraphs.append({"context": context, "qas": qas})
    unicode_ds = {"version": "1.1", "data": [{"title": "Unicode", "paragraphs": paragraphs}]}
    with open(os.path.join(args.out, "unicode.json"), "w") as f:
        json.dump(unicode_ds, f, ensure_ascii=False, indent=0)
    score(unicode_ds, preds, "unicode")


if __name__ == "__main__":
    main()
