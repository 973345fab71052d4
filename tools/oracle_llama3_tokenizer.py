#!/usr/bin/env python3
"""oracle_llama3_tokenizer.py: a Llama-3-style byte-level BPE tokenizer and
what HF does with it, for the Llama-3 / Qwen2 Split pre-tokenizers
(src/text/split_regex.c). No Llama-3 weights are reachable, so the tokenizer
is trained here with HF `tokenizers` on tools/corpus.py's training lines, laid
out as Meta's tokenizer.json is: BPE with ignore_merges, pre_tokenizer
Sequence[Split(the Llama-3 regex, Isolated), ByteLevel(add_prefix_space
false, use_regex false)], post_processor Sequence[ByteLevel(trim_offsets
false), TemplateProcessing(<|begin_of_text|> $A, <|begin_of_text|> $A
<|begin_of_text|>:1 $B:1)], decoder ByteLevel.

Writes:
  tests/fixtures/tokenizers/llama3_bpe/
    tokenizer.json, tokenizer_config.json, special_tokens_map.json
        (transformers' PreTrainedTokenizerFast save_pretrained)
    corpus.jsonl  tools/corpus.py build_cases(seed=1234) plus
        split_regex_cases() as single inputs, through
        AutoTokenizer.from_pretrained(<this dir>) (tools/oracle_tokenizers.py's
        encode_hf: ids, type ids, mask, sequence ids, byte offsets)
    vocab.gguf    the same vocabulary as llama.cpp's converter writes a
        Llama-3 one (gguf-py's writer): tokenizer.ggml.model "gpt2",
        tokenizer.ggml.pre "llama-bpe", tokens, merges, token types (CONTROL
        for the specials), bos id with add_bos_token, padding id; read by
        tests/test_tokenizer_corpus.c against the same corpus.jsonl
    meta.json
  tests/fixtures/tokenizers/qwen2_bpe/
    the same vocabulary and merges as Qwen2's tokenizer.json is laid out
    (transformers' Qwen2Converter): normalizer NFC, the Qwen2 Split, a
    ByteLevel post_processor alone; its corpus.jsonl as above
  tests/fixtures/tokenizers/split_regex/pieces.jsonl
        {"text", "llama3": [[start, end], ...], "qwen2": [...]}: the byte
        ranges HF's Split(Regex(pattern), "isolated") cuts each corpus text
        into (pre_tokenize_str), for tests/test_split_regex.c

usage: oracle_llama3_tokenizer.py [--data /work/shared/data] [--out tests/fixtures/tokenizers]
       oracle_llama3_tokenizer.py --fuzz-seeds fuzz/corpus/tokenizer_json
"""
import argparse
import json
import os
import shutil
import sys

import gguf
import tokenizers
import transformers
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpus  # noqa: E402
import oracle_tokenizers as ot  # noqa: E402

from transformers.integrations.gguf.gguf_tokenizer_mapping import GGUF_PRE_TOKENIZER_SPLITS  # noqa: E402

LLAMA3 = GGUF_PRE_TOKENIZER_SPLITS["llama-bpe"]
QWEN2 = GGUF_PRE_TOKENIZER_SPLITS["qwen2"]
SPECIALS = ["<|begin_of_text|>", "<|end_of_text|>", "<|pad|>"]
VOCAB_SIZE = 3000


def train(lines):
    tok = Tokenizer(models.BPE(continuing_subword_prefix="", end_of_word_suffix="", fuse_unk=False,
                               ignore_merges=True))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB_SIZE, min_frequency=2, special_tokens=SPECIALS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(lines + corpus.split_regex_cases(seed=5) * 20, trainer=trainer)
    bos = tok.token_to_id("<|begin_of_text|>")
    tok.post_processor = processors.Sequence([
        processors.ByteLevel(trim_offsets=False),
        processors.TemplateProcessing(single="<|begin_of_text|> $A:0",
                                      pair="<|begin_of_text|> $A:0 <|begin_of_text|>:1 $B:1",
                                      special_tokens=[("<|begin_of_text|>", bos)])])
    return tok


def write_gguf(tok, path):
    j = json.loads(tok.to_str())
    vocab = j["model"]["vocab"]
    by_id = sorted(vocab.items(), key=lambda kv: kv[1])
    assert [i for _, i in by_id] == list(range(len(by_id)))
    merges = [m if isinstance(m, str) else " ".join(m) for m in j["model"]["merges"]]
    w = gguf.GGUFWriter(path, "llama")
    w.add_tokenizer_model("gpt2"), w.add_tokenizer_pre("llama-bpe")
    w.add_token_list([t for t, _ in by_id])
    w.add_token_types([gguf.TokenType.CONTROL if t in SPECIALS else gguf.TokenType.NORMAL for t, _ in by_id])
    w.add_token_merges(merges)
    w.add_bos_token_id(vocab["<|begin_of_text|>"]), w.add_eos_token_id(vocab["<|end_of_text|>"])
    w.add_pad_token_id(vocab["<|pad|>"]), w.add_add_bos_token(True), w.add_add_eos_token(False)
    w.write_header_to_file(), w.write_kv_data_to_file(), w.write_tensors_to_file(), w.close()


def byte_ranges(split, text):
    b = ot.byte_index(text)
    return [[b[a], b[e]] for _, (a, e) in split.pre_tokenize_str(text)]


def qwen2_variant(tok):
    """The same vocabulary and merges laid out as transformers' Qwen2Converter
    writes a Qwen2 tokenizer.json: NFC, the Qwen2 Split, ByteLevel post
    processor alone (trim_offsets false), merges not ignored."""
    j = json.loads(tok.to_str())
    j["model"]["ignore_merges"] = False
    q = Tokenizer.from_str(json.dumps(j))
    q.normalizer = normalizers.NFC()
    q.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    q.post_processor = processors.ByteLevel(trim_offsets=False)
    return q


def write_fixture(name, tok, cases, out, source, **special):
    """tok saved as transformers saves it into out/name, and corpus.jsonl,
    meta.json of what AutoTokenizer does with the cases."""
    d = os.path.join(out, name)
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)
    ft = transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok, model_max_length=512,
        model_input_names=["input_ids", "token_type_ids", "attention_mask"], **special)  # the type ids too
    ft.save_pretrained(d)
    ot.write_special_tokens_map(ft, d)
    rows, stats = ot.run_tokenizer(name, d, cases)
    kept = [r for r in rows if r is not None]
    with open(os.path.join(d, "corpus.jsonl"), "w", encoding="utf-8") as f:
        for r in kept:
            if "\x00" in r["text"] or "\x00" in r.get("pair", ""):
                r["has_nul"] = True
            f.write(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n")
    meta = ot.versions()
    meta.update({
        "script": "tools/oracle_llama3_tokenizer.py",
        "corpus": "tools/corpus.py build_cases(seed=%d) + split_regex_cases()" % ot.SEED,
        "source": source,
        "reference": "transformers AutoTokenizer.from_pretrained(<this dir>) __call__ with "
                     "return_offsets_mapping; char offsets converted to UTF-8 byte offsets",
        "tokenizer_class": type(transformers.AutoTokenizer.from_pretrained(d)).__name__,
        "cases": len(kept), "pairs": sum("pair" in r for r in kept),
        "truncated": sum("truncation" in r for r in kept), "padded": sum("pad_to" in r for r in kept),
    })
    meta.update(stats)
    with open(os.path.join(d, "meta.json"), "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=2, ensure_ascii=False)
        f.write("\n")
    print(name, {k: meta[k] for k in ("cases", "pairs", "truncated", "padded", "tokenizer_class")},
          "raw_dis", stats["raw_tokenizers_disagreements"], "dropped", len(stats["dropped_cases"]))
    return d


def fuzz_seeds(out):
    """Seeds of fuzz/fuzz_tokenizer_json.c under 32 KB: the two layouts with
    the byte alphabet and a few merges."""
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    vocab = {t: i for i, t in enumerate(SPECIALS + alphabet)}
    merges = [("\u0120", "t"), ("h", "e"), ("\u0120t", "he"), ("1", "2"), ("12", "3"), ("\u010a", "\u010a")]
    for a_, b_ in merges:
        vocab[a_ + b_] = len(vocab)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, ignore_merges=True))
    tok.add_special_tokens(SPECIALS)
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.post_processor = processors.Sequence([
        processors.ByteLevel(trim_offsets=False),
        processors.TemplateProcessing(single="<|begin_of_text|> $A:0", pair="<|begin_of_text|> $A:0 $B:1",
                                      special_tokens=[("<|begin_of_text|>", 0)])])
    os.makedirs(out, exist_ok=True)
    for name, t in (("bpe_llama3_split.json", tok), ("bpe_qwen2_split_nfc.json", qwen2_variant(tok))):
        text = t.to_str()
        assert len(text) < 32768, (name, len(text))
        with open(os.path.join(out, name), "w", encoding="utf-8") as f:
            f.write(text)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="/work/shared/data")
    ap.add_argument("--out", default="tests/fixtures/tokenizers")
    ap.add_argument("--fuzz-seeds", help="only write fuzz/corpus/tokenizer_json seeds into this folder")
    a = ap.parse_args()
    if a.fuzz_seeds:
        fuzz_seeds(a.fuzz_seeds)
        return
    transformers.logging.set_verbosity_error()
    tok = train(corpus.training_lines(a.data, ot.TRAIN_SEED))
    cases = ot.corpus.build_cases(a.data, ot.SEED) + [{"text": s} for s in corpus.split_regex_cases()]
    source = ("BpeTrainer(vocab_size=%d, min_frequency=2, ByteLevel alphabet) on "
              "corpus.training_lines(seed=%d) + split_regex_cases(seed=5)" % (VOCAB_SIZE, ot.TRAIN_SEED))
    d = write_fixture("llama3_bpe", tok, cases, a.out, source, bos_token="<|begin_of_text|>",
                      eos_token="<|end_of_text|>", pad_token="<|pad|>")
    write_gguf(tok, os.path.join(d, "vocab.gguf"))
    write_fixture("qwen2_bpe", qwen2_variant(tok), cases, a.out, "llama3_bpe's vocabulary and merges, "
                  "laid out as transformers' Qwen2Converter", eos_token="<|end_of_text|>", pad_token="<|pad|>")

    sd = os.path.join(a.out, "split_regex")
    os.makedirs(sd, exist_ok=True)
    l3 = pre_tokenizers.Split(Regex(LLAMA3), behavior="isolated", invert=False)
    q2 = pre_tokenizers.Split(Regex(QWEN2), behavior="isolated", invert=False)
    texts = []
    for c in cases:
        texts += [c["text"]] + ([c["pair"]] if "pair" in c else [])
    seen, n = set(), 0
    with open(os.path.join(sd, "pieces.jsonl"), "w", encoding="utf-8") as f:
        for t in texts:
            if t in seen or "\x00" in t:
                continue
            seen.add(t)
            f.write(json.dumps({"text": t, "llama3": byte_ranges(l3, t), "qwen2": byte_ranges(q2, t)},
                               ensure_ascii=False, separators=(",", ":")) + "\n")
            n += 1
    print("split pieces", n, "tokenizers", tokenizers.__version__)


if __name__ == "__main__":
    main()
