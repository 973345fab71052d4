"""Writes tests/fixtures/bertscore/: BERTScore as the bert-score package
(0.3.13 from PyPI, the version that prints 0.3.12) computes it with
all-MiniLM-L6-v2 (the real weights scripts/get-models.sh fetches; the
paper's roberta-large is not reachable here) at its last layer
(num_layers=6), no baseline rescaling, so tests/test_bertscore.c can check
src/data/bertscore.c and src/api/api_bertscore.c against it.

hyp.txt, ref1.txt, ref2.txt: tests/fixtures/nlg's one-line cases
(Multi30K references perturbed, Unicode, empty hypotheses) and a few more
pairs (an empty reference, a whitespace-only hypothesis, CJK and emoji,
a long text). scores.json: per case (one or two references, idf off or on,
batch_size 64 or 16) every segment's P, R, F1 and their means.

transformers 5's tokenizers lost build_inputs_with_special_tokens, which
bert-score's sent_encode calls for an empty text; the shim below returns
what it returned, the text's special tokens alone (encode("") with them).

usage: oracle_bertscore.py --model models/all-MiniLM-L6-v2 --nlg tests/fixtures/nlg --out tests/fixtures/bertscore
"""

import argparse
import json
import os

import bert_score
import torch

EXTRA = [
    ("A dog runs across the field.", "", "The dog is running."),
    ("   ", "Two men are talking in a kitchen.", "Men talk."),
    ("東京の街を歩く二人の女性 😀", "Two women walk through the streets of Tokyo 😀", "東京 の 女性"),
    ("Café crème brûlée — naïve façade", "cafe creme brulee naive facade", "A naïve café."),
    (" ".join(["a man rides a bicycle down the road while people watch"] * 12),
     " ".join(["a person is riding a bike on a street"] * 10), "bicycle"),
    ("\tLeading and trailing tabs\t", "Leading and trailing tabs", "tabs"),
]


_sent_encode = bert_score.utils.sent_encode


def sent_encode(tokenizer, sent):
    if sent.strip() == "":
        return tokenizer.encode("", add_special_tokens=True)
    return _sent_encode(tokenizer, sent)


bert_score.utils.sent_encode = sent_encode


def lines(path):
    with open(path, encoding="utf-8") as f:
        return f.read().split("\n")[:-1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--nlg", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    torch.manual_seed(0)
    hyp, r1, r2 = (lines(os.path.join(a.nlg, f)) for f in ("hyp.txt", "ref1.txt", "ref2.txt"))
    for h, x, y in EXTRA:
        hyp.append(h), r1.append(x), r2.append(y)
    os.makedirs(a.out, exist_ok=True)
    for name, rows in (("hyp.txt", hyp), ("ref1.txt", r1), ("ref2.txt", r2)):
        with open(os.path.join(a.out, name), "w", encoding="utf-8") as f:
            f.write("".join(r + "\n" for r in rows))
    cases = []
    for name, refs, idf, bs in (("one_ref", 1, False, 64), ("two_refs", 2, False, 64), ("two_refs_idf", 2, True, 64),
                                ("one_ref_idf_batch16", 1, True, 16)):
        rr = r1 if refs == 1 else [[x, y] for x, y in zip(r1, r2)]
        P, R, F = bert_score.score(hyp, rr, model_type=os.path.abspath(a.model), num_layers=6, idf=idf,
                                   batch_size=bs, device="cpu", nthreads=1)
        cases.append({"name": name, "refs": refs, "idf": idf, "batch_size": bs,
                      "P": [float(v) for v in P], "R": [float(v) for v in R], "F": [float(v) for v in F],
                      "mean": [float(P.mean()), float(R.mean()), float(F.mean())]})
        print(name, cases[-1]["mean"])
    with open(os.path.join(a.out, "scores.json"), "w") as f:
        json.dump({"bert_score": bert_score.__version__, "model": "all-MiniLM-L6-v2", "num_layers": 6,
                   "segments": len(hyp), "cases": cases}, f, indent=0)
        f.write("\n")


if __name__ == "__main__":
    main()
