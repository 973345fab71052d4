"""Writes tests/fixtures/mt/: sacreBLEU's corpus BLEU and chrF (its
defaults) and its 13a tokenizer on hypotheses made here, so
tests/test_mt_metrics.c can check src/data/bleu.c and chrf.c against them.

Hypotheses: Multi30K's test_2016_flickr German references (../shared/data,
read, not copied) perturbed (words dropped, swapped, repeated, punctuation
and numbers changed, lowercased, empty), plus made-up segments that reach
every rule of the 13a tokenizer (HTML entities, <skipped>, dashes after
digits, periods and commas between and beside digits, Unicode whitespace,
CJK, emoji). Two reference streams: the original and a perturbed one.

tok13a.json: segments and sacrebleu's tokenize_13a of each.
hyp.txt, ref1.txt, ref2.txt: the corpus; scores.json: corpus_bleu and
corpus_chrf with one reference and with both, and sentence counts.

usage: oracle_mt.py --data ../shared/data --out tests/fixtures/mt
"""

import argparse
import gzip
import json
import os
import random

import sacrebleu
from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

SPECIAL = [
    "Ein Mann, der 3,5 km läuft.", "1.000.000 Euro", "3-4 Kinder", "a-b", "U.S.A.", "end.", ".start",
    "x,y", "9,x", "x,9", "&quot;Hallo&quot; &amp; &lt;tag&gt;", "&amp;quot;", "a & b", "<skipped> Wort",
    "Text <skipped>", "geteilt-\nes Wort", "tab\there", "nbsp\u00a0here", "ideo\u3000space", "em\u2003space",
    "zw\u200bsp", "中文，句子。", "emoji 😀 here!", "(Klammern) [eckig] {geschweift}", "a/b\\c", "50%", "#1",
    "@user", "~tilde`", "\"Zitat\"", "'apostroph'", "Fragen? Ja! Nein;", "ein:zwei", "€100", "°C", "x\u0085y",
    "  führende und folgende  ", "", " ", "...", "-", "--", "1-", "-1", "1.", ".1", "1,", ",1", "1,2,3",
    "A.B.", "Dr. Müller", "e.g.", "10.5%", "3.14-2.71", "2-3-4", "naïve café", "Straße", "ÄÖÜ äöü",
]


def perturb(rng, s):
    w = s.split()
    r = rng.random()
    if not w or r < 0.05:
        return ""
    if r < 0.2 and len(w) > 2:
        del w[rng.randrange(len(w))]
    elif r < 0.35 and len(w) > 2:
        i = rng.randrange(len(w) - 1)
        w[i], w[i + 1] = w[i + 1], w[i]
    elif r < 0.45:
        i = rng.randrange(len(w))
        w.insert(i, w[i])
    elif r < 0.55:
        return s.lower()
    elif r < 0.65:
        return s.rstrip(".") + " !"
    elif r < 0.72:
        return rng.choice(SPECIAL) + " " + s
    elif r < 0.8:
        return " ".join(w[: max(1, len(w) // 2)])
    return " ".join(w)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    rng = random.Random(30)
    with gzip.open(os.path.join(args.data, "multi30k", "test_2016_flickr.de.gz"), "rt", encoding="utf-8") as f:
        refs = [l.rstrip("\n") for l in f][:600]
    segs = [s.replace("\n", " ") for s in SPECIAL]
    ref1 = refs + segs
    hyp = [perturb(rng, s) for s in refs] + [perturb(rng, s) if rng.random() < 0.5 else s for s in segs]
    ref2 = [perturb(rng, s) for s in ref1]
    os.makedirs(args.out, exist_ok=True)
    for name, lines in (("hyp.txt", hyp), ("ref1.txt", ref1), ("ref2.txt", ref2)):
        with open(os.path.join(args.out, name), "w", encoding="utf-8") as f:
            f.write("".join(l + "\n" for l in lines))
    tok = Tokenizer13a()
    cases = SPECIAL + hyp[:100] + ["a \u2028 b", "x\u001cy", "&lt;&gt;&amp;&quot;"]
    with open(os.path.join(args.out, "tok13a.json"), "w", encoding="utf-8") as f:
        json.dump({"sacrebleu": sacrebleu.__version__, "cases": [{"s": s, "tok": tok(s)} for s in cases]}, f,
                  ensure_ascii=False, indent=0)

    signatures = {}

    def bleu(refs_):
        m = sacrebleu.BLEU()
        b = m.corpus_score(hyp, refs_)
        signatures["bleu"] = str(m.get_signature())
        return {"score": b.score, "counts": b.counts, "totals": b.totals, "precisions": b.precisions, "bp": b.bp,
                "sys_len": b.sys_len, "ref_len": b.ref_len}

    out = {
        "sacrebleu": sacrebleu.__version__,
        "segments": len(hyp),
        "bleu_ref1": bleu([ref1]),
        "bleu_ref12": bleu([ref1, ref2]),
        "chrf_ref1": sacrebleu.corpus_chrf(hyp, [ref1]).score,
        "chrf_ref12": sacrebleu.corpus_chrf(hyp, [ref1, ref2]).score,
    }
    m = sacrebleu.CHRF()
    m.corpus_score(hyp, [ref1])
    out["signatures"] = {"bleu": signatures["bleu"], "chrf": str(m.get_signature())}
    with open(os.path.join(args.out, "scores.json"), "w") as f:
        json.dump(out, f, indent=1)
    print(json.dumps({k: v.get("score", "") if isinstance(v, dict) else v for k, v in out.items()}))


if __name__ == "__main__":
    main()
