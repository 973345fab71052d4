"""Writes tests/fixtures/nlg/: ROUGE as Google's rouge-score 0.1.2 computes
it, METEOR as NLTK 3.10's meteor_score computes it (WordNet 3.0 from
Debian's wordnet-base, the same dict files pifi reads), NLTK's Porter
stemmer, and BLEU-1..4 as pycocoevalcap 1.2 computes them (nlg-eval's), so
tests/test_nlg_metrics.c can check src/data/rouge.c, meteor.c, porter.c,
wordnet.c and coco_bleu.c against them.

porter.tsv: "word<TAB>PorterStemmer().stem(word)" for every distinct
lowercased whitespace token of Multi30K's English and German sides
(../shared/data, read, not copied) and words made to reach every rule.

cases.json: hypothesis/references cases (Multi30K test_2016_flickr English
references perturbed: words dropped, swapped, repeated, inflected, replaced
by WordNet synonyms, case changed, emptied; Unicode; multi-sentence texts
whose lines are rougeLsum's sentences; one to three references), with
rouge-score's per-case scores (with and without the stemmer) and NLTK's
meteor_score; corpus means. hyp.txt, ref1.txt, ref2.txt: the one-line
cases as `pifi score` reads them, with their corpus scores in cases.json,
and pycocoevalcap 1.2's corpus BLEU-1..4 (nlg-eval's Bleu_1..4) of them
(one and two references, a part, hypotheses doubled: the brevity penalty
on and off).

NLTK's reader is pointed at Debian's dict (copied to a temporary
nltk_data/corpora/wordnet with the standard lexnames file, which Debian
does not ship and which only names lexicographer files); its map_wn, a
WordNet-version mapping for the multilingual data that needs index.sense,
is switched off: the English synsets do not use it.

usage: oracle_nlg.py --data ../shared/data --wordnet /usr/share/wordnet --out tests/fixtures/nlg
"""

import argparse
import gzip
import json
import os
import random
import shutil
import tempfile

import nltk

LEXNAMES = ("adj.all adj.pert adv.all noun.Tops noun.act noun.animal noun.artifact noun.attribute noun.body "
            "noun.cognition noun.communication noun.event noun.feeling noun.food noun.group noun.location "
            "noun.motive noun.object noun.person noun.phenomenon noun.plant noun.possession noun.process "
            "noun.quantity noun.relation noun.shape noun.state noun.substance noun.time verb.body verb.change "
            "verb.cognition verb.communication verb.competition verb.consumption verb.contact verb.creation "
            "verb.emotion verb.motion verb.perception verb.possession verb.social verb.stative verb.weather "
            "adj.ppl").split()

SPECIAL_WORDS = [
    "caresses", "ponies", "ties", "caress", "cats", "feed", "agreed", "plastered", "bled", "motoring", "sing",
    "conflated", "troubled", "sized", "hopping", "tanned", "falling", "hissing", "fizzed", "failing", "filing",
    "happy", "sky", "skies", "dying", "lying", "tying", "news", "innings", "outing", "cannings", "howe", "proceed",
    "exceed", "succeed", "relational", "conditional", "rational", "valenci", "hesitanci", "digitizer",
    "conformabli", "radicalli", "differentli", "vileli", "analogousli", "vietnamization", "predication",
    "operator", "feudalism", "decisiveness", "hopefulness", "callousness", "formaliti", "sensitiviti",
    "sensibiliti", "triplicate", "formative", "formalize", "electriciti", "electrical", "hopeful", "goodness",
    "revival", "allowance", "inference", "airliner", "gyroscopic", "adjustable", "defensible", "irritant",
    "replacement", "adjustment", "dependent", "adoption", "homologou", "communism", "activate", "angulariti",
    "homologous", "effective", "bowdlerize", "probate", "rate", "cease", "controll", "roll", "yyyy", "syzygy",
    "toy", "enjoy", "spy", "fly", "try", "spied", "died", "pied", "ied", "ies", "eed", "ed", "ing", "y", "yy",
    "x*d", "a*d", "ba*d", "*d", "fulli", "logi", "analogi", "alli", "trolli", "café", "naïve", "führend",
    "größe", "straße", "ßss", "über", "æsthetic", "yaying", "playing", "buyed", "hopefullies", "beautifully",
    "12ing", "3ed", "ab", "a", "", "éed", "ÿing", "çies", "generalization", "oscillators", "abbey", "abbeys",
]

UNICODE = [
    "İstanbul İS a City", "the KELVIN \u212a scale", "Ärger über Größe", "naïve café owners", "emoji 😀 smile",
    "中文 句子 words", "tab\tseparated\twords", "nbsp\u00a0joined", "ideo\u3000space", "x\u0085y next",
    "dots...and---dashes", "U.S.A. e.g. Mr. Smith's", "1,000 people 3.5 km", "ΣΊΣΥΦΟΣ ΟΔΟΣ",
    "MIXED Case WORDS", "under_score words", "zw\u200bsp", "x\u001cy\u001dz",
]


# METEOR's stages one by one: lemma names with "_" (never synonyms), morphy's
# exception lists (men -> man, better -> good, geese -> goose), the synonym
# stage on the stems the stem stage left, str.lower()'s full mapping and
# final sigma, several references
METEOR_CASES = [
    ("the dog barked", ["the domestic_dog barked"]), ("the hot_dog was good", ["the hotdog was good"]),
    ("He was running fast", ["he runs quickly"]), ("cars and automobiles", ["automobile and car"]),
    ("The MEN ran", ["the man runs"]), ("geese flew south", ["the goose flies south"]),
    ("children were happy", ["kids are glad"]), ("a better choice", ["a good choice"]),
    ("İstanbul ΣΊΣΥΦΟΣ ΟΔΟΣ", ["i̇stanbul σίσυφος οδος", "istanbul"]), ("big large huge", ["large big great"]),
    ("the the the", ["the"]), ("a b c d", ["d c b a"]), ("", ["something"]), ("something", [""]),
    ("purchased a sofa", ["bought a couch", "acquired the settee"]), ("Dogs", ["dog", "dogs"]),
]


def wordnet_reader(dict_dir):
    tmp = tempfile.mkdtemp()
    root = os.path.join(tmp, "corpora", "wordnet")
    os.makedirs(root)
    for f in os.listdir(dict_dir):
        p = os.path.join(dict_dir, f)
        if os.path.isfile(p):
            shutil.copy(p, root)
    with open(os.path.join(root, "lexnames"), "w") as f:
        cat = {"adj": 3, "adv": 4, "noun": 1, "verb": 2}
        f.write("".join("%02d\t%s\t%d\n" % (i, n, cat[n.split(".")[0]]) for i, n in enumerate(LEXNAMES)))
    nltk.data.path[:] = [tmp]
    from nltk.corpus.reader.wordnet import WordNetCorpusReader
    WordNetCorpusReader.map_wn = lambda self, version="wordnet": None
    from nltk.corpus import wordnet
    assert wordnet.get_version() == "3.0", wordnet.get_version()
    return wordnet, tmp


def read_gz(data, name):
    with gzip.open(os.path.join(data, "multi30k", name), "rt", encoding="utf-8") as f:
        return [l.rstrip("\n") for l in f]


def synonym(rng, wn, word):
    names = sorted({l.name() for s in wn.synsets(word) for l in s.lemmas() if "_" not in l.name()} - {word})
    return rng.choice(names) if names else word


def inflect(rng, w):
    return w + rng.choice(["s", "ing", "ed", "es", "er", "ly"])


def perturb(rng, wn, s):
    w = s.split()
    r = rng.random()
    if not w or r < 0.04:
        return ""
    if r < 0.14 and len(w) > 2:
        del w[rng.randrange(len(w))]
    elif r < 0.24 and len(w) > 2:
        i = rng.randrange(len(w) - 1)
        w[i], w[i + 1] = w[i + 1], w[i]
    elif r < 0.30:
        i = rng.randrange(len(w))
        w.insert(i, w[i])
    elif r < 0.50:
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(len(w))
            w[i] = synonym(rng, wn, w[i].lower())
    elif r < 0.62:
        for _ in range(rng.randint(1, 2)):
            i = rng.randrange(len(w))
            w[i] = inflect(rng, w[i])
    elif r < 0.68:
        return s.upper()
    elif r < 0.74:
        return rng.choice(UNICODE) + " " + s
    elif r < 0.80:
        return " ".join(w[: max(1, len(w) // 2)])
    elif r < 0.84:
        rng.shuffle(w)
    return " ".join(w)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--wordnet", default="/usr/share/wordnet")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    wn, tmp = wordnet_reader(args.wordnet)
    from nltk.stem.porter import PorterStemmer
    from nltk.translate.meteor_score import meteor_score
    from rouge_score import rouge_scorer
    import rouge_score

    os.makedirs(args.out, exist_ok=True)
    rng = random.Random(22)

    # the stemmer, word for word
    words = set()
    for name in ("train.en.gz", "val.en.gz", "test_2016_flickr.en.gz"):
        for l in read_gz(args.data, name):
            words.update(l.lower().split())
    de = set()
    for l in read_gz(args.data, "val.de.gz"):
        de.update(l.lower().split())
    words |= set(sorted(de)[:3000])
    words = sorted(words | {w.lower() for w in SPECIAL_WORDS if w})
    st = PorterStemmer()
    assert st.mode == PorterStemmer.NLTK_EXTENSIONS
    with open(os.path.join(args.out, "porter.tsv"), "w", encoding="utf-8") as f:
        for w in words:
            assert "\t" not in w and "\n" not in w
            f.write(w + "\t" + st.stem(w) + "\n")

    # the cases
    refs = read_gz(args.data, "test_2016_flickr.en.gz")[:260]
    cases = []
    for i, r in enumerate(refs):  # one-line cases: hyp.txt, ref1.txt, ref2.txt
        cases.append({"hyp": perturb(rng, wn, r), "refs": [r, perturb(rng, wn, r)]})
    for u in UNICODE:
        cases.append({"hyp": perturb(rng, wn, u) if rng.random() < 0.5 else u, "refs": [u, perturb(rng, wn, u)]})
    n_lines = len(cases)
    more = read_gz(args.data, "test_2016_flickr.en.gz")[300:]
    for i in range(40):  # multi-sentence texts (rougeLsum's lines), one to three references
        sents = more[3 * i: 3 * i + rng.randint(1, 3)]
        ref = "\n".join(sents)
        hyp = "\n".join(perturb(rng, wn, s) for s in sents if rng.random() < 0.9)
        if rng.random() < 0.3:
            hyp = hyp.replace("\n", " ")
        if rng.random() < 0.2:
            hyp = "\n\n" + hyp + "\n"
        cases.append({"hyp": hyp, "refs": [ref, "\n".join(perturb(rng, wn, s) for s in sents)][: rng.randint(1, 2)]
                      + ([more[200 + i]] if i % 5 == 0 else [])})

    for h, rs in METEOR_CASES:
        cases.append({"hyp": h, "refs": rs})

    types = ["rouge1", "rouge2", "rougeL", "rougeLsum"]
    scorers = {False: rouge_scorer.RougeScorer(types, use_stemmer=False),
               True: rouge_scorer.RougeScorer(types, use_stemmer=True)}
    for c in cases:
        for stem, sc in scorers.items():
            s = sc.score_multi(c["refs"], c["hyp"])
            c["rouge_stem" if stem else "rouge"] = {t: [s[t].precision, s[t].recall, s[t].fmeasure] for t in types}
        c["meteor"] = meteor_score([r.split() for r in c["refs"]], c["hyp"].split(), wordnet=wn)

    def means(cs, key):
        return {t: [sum(c[key][t][k] for c in cs) / len(cs) for k in range(3)] for t in types}

    line_cases = cases[:n_lines]
    out = {
        "rouge_score": rouge_score.__version__ if hasattr(rouge_score, "__version__") else "0.1.2",
        "nltk": nltk.__version__,
        "wordnet": wn.get_version(),
        "cases": cases,
        "lines": n_lines,
        "corpus_lines": {"rouge": means(line_cases, "rouge"), "rouge_stem": means(line_cases, "rouge_stem"),
                         "meteor": sum(c["meteor"] for c in line_cases) / n_lines},
    }
    # pycocoevalcap's Bleu(4) (what nlg-eval reports as Bleu_1..Bleu_4) on the line files
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.bleu.bleu_scorer import BleuScorer

    def coco(hyps, refss):
        gts = {i: list(rs) for i, rs in enumerate(zip(*refss))}
        res = {i: [h] for i, h in enumerate(hyps)}
        score, _ = Bleu(4).compute_score(gts, res, verbose=0)
        sc = BleuScorer(n=4)
        for i in gts:
            sc += (res[i][0], gts[i])
        sc.compute_score(option="closest", verbose=0)
        correct = [sum(c["correct"][k] for c in sc.ctest) for k in range(4)]
        guess = [sum(c["guess"][k] for c in sc.ctest) for k in range(4)]
        return {"bleu": score, "correct": correct, "guess": guess, "testlen": sc._testlen, "reflen": sc._reflen}

    hyps = [c["hyp"] for c in line_cases]
    r1 = [c["refs"][0] for c in line_cases]
    r2 = [c["refs"][1] for c in line_cases]
    out["coco_bleu"] = {"ref1": coco(hyps, [r1]), "ref12": coco(hyps, [r1, r2]),
                        "first50_ref2": coco(hyps[:50], [r2[:50]]),
                        "long_hyps": coco([h + " " + h for h in hyps[:40]], [r1[:40], r2[:40]])}
    with open(os.path.join(args.out, "cases.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=0)
    for k, name in ((None, "hyp.txt"), (0, "ref1.txt"), (1, "ref2.txt")):
        with open(os.path.join(args.out, name), "w", encoding="utf-8") as f:
            f.write("".join((c["hyp"] if k is None else c["refs"][k]) + "\n" for c in line_cases))
    shutil.rmtree(tmp)
    print(json.dumps({"words": len(words), "cases": len(cases), "lines": n_lines,
                      "rougeL_f": out["corpus_lines"]["rouge"]["rougeL"][2],
                      "meteor": out["corpus_lines"]["meteor"]}))


if __name__ == "__main__":
    main()
