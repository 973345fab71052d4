"""Writes tests/fixtures/tokenizers/decode.jsonl: `tokenizers`' decode of the
ids of committed tokenizer fixtures, with and without skip_special_tokens, as
the reference for pifi's tokenizer_decode (tests/test_decode.c).

For each tokenizer directory named below, the first N cases of its
corpus.jsonl (their ids as HF encoded them: special tokens, padding,
byte-level pieces, "##" continuations), plus ids cut at every 3rd position
(a byte-level character split across tokens decodes to U+FFFD), plus the
Multi30K T5 tokenizer of experiments/ on its test lines' ids.

usage: oracle_decode.py --fixtures tests/fixtures --multi30k experiments/multi30k-t5 --data DIR
"""

import argparse
import gzip
import json
import os

import tokenizers
from tokenizers import Tokenizer

DIRS = ["bert_uncased", "bert_cased", "mpnet", "roberta_bpe", "qwen2_bpe", "llama3_bpe", "t5_unigram_bytefallback",
        "albert_unigram"]
N = 80


def cases_of(tok, name, ids_list):
    out = []
    for ids in ids_list:
        for skip in (True, False):
            out.append({"tokenizer": name, "ids": ids, "skip_special": skip, "text": tok.decode(ids, skip_special_tokens=skip)})
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fixtures", required=True)
    ap.add_argument("--multi30k", required=True)
    ap.add_argument("--data", required=True)
    a = ap.parse_args()
    rows = []
    for name in DIRS:
        d = os.path.join(a.fixtures, "tokenizers", name)
        tok = Tokenizer.from_file(os.path.join(d, "tokenizer.json"))
        ids_list = []
        with open(os.path.join(d, "corpus.jsonl"), encoding="utf-8") as f:
            for i, line in enumerate(f):
                if i >= N:
                    break
                ids = json.loads(line)["ids"]
                ids_list.append(ids)
                if i % 3 == 0 and len(ids) > 2:
                    ids_list.append(ids[1:len(ids) - 1])  # a piece cut off each end
        rows += cases_of(tok, name, ids_list)
    tok = Tokenizer.from_file(os.path.join(a.multi30k, "tokenizer.json"))
    with gzip.open(os.path.join(a.data, "multi30k", "test_2016_flickr.de.gz"), "rt", encoding="utf-8") as f:
        lines = [l.rstrip("\n") for l in f][:200]
    rows += cases_of(tok, "multi30k", [tok.encode(l).ids for l in lines])
    out = os.path.join(a.fixtures, "tokenizers", "decode.jsonl")
    with open(out, "w", encoding="utf-8") as f:
        f.write(json.dumps({"meta": {"tokenizers": tokenizers.__version__, "script": "tools/oracle_decode.py",
                                     "what": "tokenizers.Tokenizer.decode(ids, skip_special_tokens)"}},
                           ensure_ascii=False) + "\n")
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(out, len(rows), "cases")


if __name__ == "__main__":
    main()
