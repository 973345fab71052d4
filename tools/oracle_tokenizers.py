"""Writes tests/fixtures/tokenizers/<name>/: tokenizer files as HF saves them and
corpus.jsonl with the reference encodings of transformers' fast tokenizers.

bert_uncased is the real all-MiniLM-L6-v2 tokenizer; mpnet the real
all-mpnet-base-v2 one (WordPiece with <s> A </s></s> B </s>: RobertaProcessing);
bert_cased (WordPiece) and roberta_bpe (byte-level BPE) are trained here on the
shared data. Every case is
encoded with AutoTokenizer loaded back from the saved directory; the script also
cross-checks the raw `tokenizers` pipeline from tokenizer.json and, for BERT,
the slow Python tokenizer, and records disagreement counts in meta.json.

usage: oracle_tokenizers.py --data DIR --minilm DIR --mpnet DIR --out tests/fixtures/tokenizers
"""

import argparse
import json
import os
import platform
import shutil
import sys

import tokenizers
import torch
import transformers
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpus  # noqa: E402

SEED = 1234
TRAIN_SEED = 99
VOCAB_SIZE = 3000


def versions():
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "tokenizers": tokenizers.__version__,
    }


def write_special_tokens_map(tok, out_dir):
    # transformers 5 no longer writes this legacy file; write it in the v4 layout
    with open(os.path.join(out_dir, "special_tokens_map.json"), "w", encoding="utf-8") as f:
        json.dump(tok.special_tokens_map, f, indent=2, ensure_ascii=False)
        f.write("\n")


# ---------------------------------------------------------------- building the tokenizers

def make_bert_uncased(minilm_dir, out_dir):
    for name in ("tokenizer.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copyfile(os.path.join(minilm_dir, name), os.path.join(out_dir, name))
    return {"source": "all-MiniLM-L6-v2 tokenizer files, copied unchanged"}


def make_mpnet(mpnet_dir, out_dir):
    for name in ("tokenizer.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copyfile(os.path.join(mpnet_dir, name), os.path.join(out_dir, name))
    return {"source": "all-mpnet-base-v2 tokenizer files, copied unchanged"}


def make_bert_cased(lines, out_dir):
    sp = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=False, lowercase=False)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece(prefix="##")
    trainer = trainers.WordPieceTrainer(vocab_size=VOCAB_SIZE, min_frequency=2, special_tokens=sp)
    tok.train_from_iterator(lines, trainer=trainer)
    # The trainer picks a deterministic token set but orders ties differently from
    # run to run; WordPiece output depends only on the set, so fix the order.
    trained = tok.get_vocab()
    rest = sorted((t for t in trained if t not in sp),
                  key=lambda t: (len(t.removeprefix("##")), t.startswith("##"), t))
    vocab = {t: i for i, t in enumerate(sp + rest)}
    tok.model = models.WordPiece(vocab, unk_token="[UNK]", max_input_chars_per_word=100)
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS]:0 $A:0 [SEP]:0",
        pair="[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)])
    ft = transformers.BertTokenizerFast(
        tokenizer_object=tok, do_lower_case=False, strip_accents=False,
        tokenize_chinese_chars=True, unk_token="[UNK]", sep_token="[SEP]", pad_token="[PAD]",
        cls_token="[CLS]", mask_token="[MASK]", model_max_length=512)
    ft.save_pretrained(out_dir)
    tok.model.save(out_dir)  # legacy vocab.txt, written by `tokenizers`
    write_special_tokens_map(ft, out_dir)
    return {"source": "WordPieceTrainer(vocab_size=%d, min_frequency=2) on corpus.training_lines(seed=%d); "
            "non-special tokens reordered by (length, ##, text) since the trainer orders ties randomly"
            % (VOCAB_SIZE, TRAIN_SEED)}


def make_roberta_bpe(lines, out_dir):
    sp = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    tok = Tokenizer(models.BPE(continuing_subword_prefix="", end_of_word_suffix="", fuse_unk=False))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB_SIZE, min_frequency=2, special_tokens=sp,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(lines, trainer=trainer)
    tok.post_processor = processors.RobertaProcessing(
        ("</s>", tok.token_to_id("</s>")), ("<s>", tok.token_to_id("<s>")),
        trim_offsets=True, add_prefix_space=False)
    ft = transformers.RobertaTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", eos_token="</s>", sep_token="</s>", cls_token="<s>",
        unk_token="<unk>", pad_token="<pad>", mask_token="<mask>", add_prefix_space=False,
        trim_offsets=True, model_max_length=512)
    ft.save_pretrained(out_dir)
    tok.model.save(out_dir)  # legacy vocab.json + merges.txt, written by `tokenizers`
    write_special_tokens_map(ft, out_dir)
    return {"source": "BpeTrainer(vocab_size=%d, min_frequency=2, ByteLevel alphabet) on "
            "corpus.training_lines(seed=%d)" % (VOCAB_SIZE, TRAIN_SEED)}


# ---------------------------------------------------------------- encoding

def byte_index(s):
    """b[i] = byte offset of code point i in s.encode('utf-8'); b[len(s)] = total."""
    b = [0] * (len(s) + 1)
    for i, ch in enumerate(s):
        b[i + 1] = b[i] + len(ch.encode("utf-8"))
    return b


def call_kwargs(case):
    kw = {"add_special_tokens": case.get("add_special_tokens", True), "return_offsets_mapping": True}
    if "truncation" in case:
        kw["truncation"] = case["truncation"]
        kw["max_length"] = case["max_length"]
    else:
        kw["truncation"] = False
    if "pad_to" in case:
        kw["padding"] = "max_length"
        kw["max_length"] = case["pad_to"]
    return kw


def encode_hf(tok, case):
    enc = tok(case["text"], case.get("pair"), **call_kwargs(case))
    seq = [-1 if s is None else s for s in enc.sequence_ids()]
    bt = byte_index(case["text"])
    bp = byte_index(case["pair"]) if "pair" in case else None
    offsets = []
    for (a, b), s in zip(enc["offset_mapping"], seq):
        if s == -1:
            if (a, b) != (0, 0):
                raise RuntimeError("special token with offsets %r" % ((a, b),))
            offsets.append([0, 0])
        else:
            m = bt if s == 0 else bp
            offsets.append([m[a], m[b]])
    out = {
        "ids": list(enc["input_ids"]),
        "type_ids": list(enc["token_type_ids"]) if "token_type_ids" in enc else [0] * len(seq),
        "attention_mask": list(enc["attention_mask"]),
        "seq": seq,
        "offsets": offsets,
    }
    n = len(out["ids"])
    assert all(len(out[k]) == n for k in out), "length mismatch"
    return out, [list(o) for o in enc["offset_mapping"]]


def encode_raw(raw, pad_id, pad_token, case):
    """Same case through tokenizers.Tokenizer loaded from tokenizer.json."""
    raw.no_truncation()
    raw.no_padding()
    kw = call_kwargs(case)
    if kw["truncation"]:
        raw.enable_truncation(max_length=case["max_length"], strategy=case["truncation"])
    if "pad_to" in case:
        raw.enable_padding(length=case["pad_to"], pad_id=pad_id, pad_token=pad_token)
    e = raw.encode(case["text"], case.get("pair"), add_special_tokens=kw["add_special_tokens"])
    return e.ids, e.type_ids, e.attention_mask, [list(o) for o in e.offsets]


def slow_ids(slow, case):
    return slow(case["text"], case.get("pair"), add_special_tokens=case.get("add_special_tokens", True))["input_ids"]


def legacy_tokenizer(out_dir, tmp_dir):
    """transformers' tokenizer from the legacy files alone (no tokenizer.json)."""
    for f in ("vocab.txt", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copyfile(os.path.join(out_dir, f), os.path.join(tmp_dir, f))
    return transformers.AutoTokenizer.from_pretrained(tmp_dir)


# Tokenizers whose legacy files say less than their tokenizer.json: all-mpnet-base-v2's
# tokenizer.json declares "<unk>" (id 3) an added token, its vocab.txt and configs do not,
# so transformers splits a literal "<unk>" from the legacy files. For these the corpus row
# carries "legacy": transformers' encoding from the legacy files, where it differs.
LEGACY_REFERENCE = ("mpnet",)


def run_tokenizer(name, out_dir, cases):
    tok = transformers.AutoTokenizer.from_pretrained(out_dir)
    legacy_tok, legacy_diff = None, 0
    if name in LEGACY_REFERENCE:
        legacy_dir = out_dir + ".legacy"
        os.makedirs(legacy_dir)
        legacy_tok = legacy_tokenizer(out_dir, legacy_dir)
    raw = Tokenizer.from_file(os.path.join(out_dir, "tokenizer.json"))
    slow = None
    if name.startswith("bert"):
        from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy
        slow = BertTokenizerLegacy(os.path.join(out_dir, "vocab.txt"), do_lower_case=(name == "bert_uncased"))
    rows, dropped = [], []
    raw_dis, slow_dis, slow_examples, raw_examples = 0, 0, [], []
    for i, case in enumerate(cases):
        try:
            out, char_offsets = encode_hf(tok, case)
        except Exception as e:  # e.g. only_second when the second input is too short
            dropped.append((i, str(e)[:200]))
            rows.append(None)
            continue
        r = encode_raw(raw, tok.pad_token_id, tok.pad_token, case)
        if (r[0], r[1], r[2], r[3]) != (out["ids"], out["type_ids"], out["attention_mask"], char_offsets):
            raw_dis += 1
            if len(raw_examples) < 5:
                raw_examples.append(case["text"][:80])
        if slow is not None and "truncation" not in case and "pad_to" not in case:
            sid = slow_ids(slow, case)
            fid = tok(case["text"], case.get("pair"),
                      add_special_tokens=case.get("add_special_tokens", True))["input_ids"]
            if sid != fid:
                slow_dis += 1
                if len(slow_examples) < 10:
                    slow_examples.append(case["text"][:80] + (" ||| " + case["pair"][:40] if "pair" in case else ""))
        row = dict(case)
        row.update(out)
        if legacy_tok is not None:
            lo, _ = encode_hf(legacy_tok, case)
            if lo != out:
                row["legacy"] = lo
                legacy_diff += 1
        rows.append(row)
    if legacy_tok is not None:
        shutil.rmtree(out_dir + ".legacy")
    stats = {
        "raw_tokenizers_disagreements": raw_dis,
        "raw_tokenizers_examples": raw_examples,
        "dropped_cases": dropped,
    }
    if legacy_tok is not None:
        stats["legacy_files_differ"] = legacy_diff
    if slow is not None:
        stats["slow_python_disagreements"] = slow_dis
        stats["slow_python_examples"] = slow_examples
        stats["slow_python_checked"] = "cases without truncation/padding, ids only; the fast tokenizer is the reference"
    return rows, stats


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="/work/shared/data")
    ap.add_argument("--minilm", required=True)
    ap.add_argument("--mpnet", required=True, help="all-mpnet-base-v2 (scripts/get-models.sh --mpnet)")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    transformers.logging.set_verbosity_error()

    cases = corpus.build_cases(args.data, SEED)
    lines = corpus.training_lines(args.data, TRAIN_SEED)
    builders = {
        "bert_uncased": lambda d: make_bert_uncased(args.minilm, d),
        "bert_cased": lambda d: make_bert_cased(lines, d),
        "roberta_bpe": lambda d: make_roberta_bpe(lines, d),
        "mpnet": lambda d: make_mpnet(args.mpnet, d),
    }
    results = {}
    for name, build in builders.items():
        d = os.path.join(args.out, name)
        if os.path.isdir(d):
            shutil.rmtree(d)
        os.makedirs(d)
        info = build(d)
        rows, stats = run_tokenizer(name, d, cases)
        results[name] = (d, info, rows, stats)

    # a case that fails on any tokenizer is left out of every corpus, so all share one corpus
    bad = {i for (_, _, rows, _) in results.values() for i, r in enumerate(rows) if r is None}
    for name, (d, info, rows, stats) in results.items():
        kept = [r for i, r in enumerate(rows) if i not in bad]
        with open(os.path.join(d, "corpus.jsonl"), "w", encoding="utf-8") as f:
            for r in kept:
                if "\x00" in r["text"] or "\x00" in r.get("pair", ""):
                    r["has_nul"] = True
                f.write(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n")
        meta = versions()
        meta.update({
            "script": "tools/oracle_tokenizers.py",
            "corpus": "tools/corpus.py build_cases(seed=%d)" % SEED,
            "seed": SEED,
            "train_seed": TRAIN_SEED,
            "reference": "transformers AutoTokenizer.from_pretrained(<this dir>) __call__ with "
                         "return_offsets_mapping; char offsets converted to UTF-8 byte offsets",
            "tokenizer_class": type(transformers.AutoTokenizer.from_pretrained(d)).__name__,
            "cases": len(kept),
            "pairs": sum("pair" in r for r in kept),
            "truncated": sum("truncation" in r for r in kept),
            "padded": sum("pad_to" in r for r in kept),
            "no_special_tokens": sum(r.get("add_special_tokens") is False for r in kept),
            "cases_dropped_everywhere": len(bad),
        })
        meta.update(info)
        meta.update(stats)
        with open(os.path.join(d, "meta.json"), "w", encoding="utf-8") as f:
            json.dump(meta, f, indent=2, ensure_ascii=False)
            f.write("\n")
        print(name, {k: meta[k] for k in ("cases", "pairs", "truncated", "padded", "no_special_tokens")},
              "raw_dis", stats["raw_tokenizers_disagreements"],
              "slow_dis", stats.get("slow_python_disagreements"), "dropped", len(stats["dropped_cases"]))


if __name__ == "__main__":
    main()
