r"""Writes tests/fixtures/tokenizers/<name>/ for SentencePiece Unigram tokenizers:
tokenizer.json as transformers' converters write it (Unigram model, Precompiled
charsmap normalizer, Metaspace pre-tokenizer), tokenizer_config.json, and
corpus.jsonl with the reference encodings (same cases and layout as
tools/oracle_tokenizers.py; tests/fixtures/README.md).

Two SentencePiece Unigram models are trained here with the `sentencepiece`
package on the shared data (nmt_nfkc normalization rule, so each carries a
precompiled_charsmap), one with byte_fallback, and converted with
transformers' own converters (convert_slow_tokenizer.py):
  deberta_v3_unigram  DebertaV2Converter: Strip, Precompiled, Replace(" {2,}"),
                      Metaspace(always), [CLS] A [SEP] (B [SEP])
  albert_unigram      AlbertConverter (lowercase, accents stripped): Replace,
                      NFKD, StripAccents, Lowercase, Precompiled, Replace,
                      Metaspace(always), [CLS] A [SEP] (B [SEP])
  t5_unigram_bytefallback  T5Converter with byte fallback kept (as Llama's):
                      Precompiled, Strip(right), Replace(" {2,}" -> "▁"),
                      Metaspace(first: legacy=False), A </s> (B </s>), extra ids
  deberta_v3_tf5      transformers 5's DebertaV2Tokenizer itself: Replace(\s{2,}|[\n\r\t]),
                      NFC, Strip(right), Metaspace(always)
  unigram_variants    NFD, Replace(\A +| +\z), Replace(\A▁), NFKC, NFD, WhitespaceSplit +
                      Metaspace(always, split=False), byte fallback
albert_unigram and the last two are written with every third shared case (and all EXTRA
ones), to keep the files small.

usage: oracle_unigram.py --data DIR --out tests/fixtures/tokenizers
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import types

import sentencepiece as spm
import transformers
from tokenizers import AddedToken, Tokenizer
import importlib

csl = importlib.import_module("transformers.convert_slow_tokenizer")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpus  # noqa: E402
import oracle_tokenizers as ot  # noqa: E402

SEED = 1234
TRAIN_SEED = 99
EXTRA_IDS = 10
SUBSET = ("albert_unigram", "deberta_v3_tf5", "unigram_variants")  # a third of the shared cases


# Cases for what the shared corpus does not reach with these tokenizers:
# text right after an added token (prepend_scheme "first"), literal and
# repeated '▁', runs of unknown chars (fused), byte fallback, marks that
# NFKD reorders, charsmap entries that remove chars.
EXTRA = [
    "<pad>x", "</s>hello world", "[CLS]hello", "<unk>abc", "x<extra_id_0>y z", "<extra_id_3> after",
    "[MASK] is here", "hi [MASK]", "[SEP][SEP]two", " <pad> spaced ", "\u2581", "\u2581\u2581a",
    "a\u2581\u2581b", "\u2581 \u2581", "a \u2581b", "  \u2581\u2581  x", "end\u2581", "\u2581\u2581\u2581",
    "\u03a9\u2248\u00e7\u221a\u222b", "\U0001d518\U0001d52b\U0001d526\U0001d520", "\u0378\u0379 unassigned",
    "\U0001f984\U0001f984 unicorns", "\u16a0\u16a2\u16a6\u16a8 runes \u16b1", "\u0e01\u0e02\u0e03",
    "a\u0301\u0323 e\u0323\u0302 o\u031b\u0300\u0323", "\u00e9\u0323 x", "\u1e69\u0307 q\u0307\u0323",
    "\u200b\u200bstart", "\x00\x01 nul", "\ufeffbom", "x\u00ad\u00ady", "\u3000\u3000ideo",
    "\uff21\uff22 \u2460 \u33a1 \ufb01", "``quoted'' text", "tab\tand\nnewline  two   three",
    "\u00c5\u212b\u0041\u030a", "\u1100\u1161\u11a8 \uac01", "\U0001f468\u200d\U0001f469\u200d\U0001f467",
    "\r\n\r\nlines", "e\u0301\u0301\u0301",
]


def train(lines, prefix, vocab_size, byte_fallback, ids):
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines), model_prefix=prefix, model_type="unigram",
        vocab_size=vocab_size, character_coverage=0.9995, byte_fallback=byte_fallback,
        normalization_rule_name="nmt_nfkc", num_threads=1, shuffle_input_sentence=False,
        input_sentence_size=0, minloglevel=2, **ids)
    return prefix + ".model"


def original(model_file, **kw):
    """The attributes transformers' converters read from a slow tokenizer."""
    sp = spm.SentencePieceProcessor(model_file=model_file)
    o = types.SimpleNamespace(vocab_file=model_file, legacy=True, add_prefix_space=True, **kw)
    o.convert_tokens_to_ids = lambda t: sp.piece_to_id(t)
    return o


class T5ByteFallbackConverter(csl.T5Converter):
    handle_byte_fallback = True


def save(tok, out_dir, specials, extra=None):
    kw = dict(specials)
    if extra:
        kw["additional_special_tokens"] = extra
    # token_type_ids as DebertaV2Tokenizer / AlbertTokenizer return them
    ft = transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok, model_max_length=512,
        model_input_names=["input_ids", "token_type_ids", "attention_mask"], **kw)
    ft.save_pretrained(out_dir)
    ot.write_special_tokens_map(ft, out_dir)


def make_deberta(model_a, out_dir):
    o = original(model_a, do_lower_case=False, split_by_punct=False)
    tok = csl.DebertaV2Converter(o).converted()
    save(tok, out_dir, {"bos_token": "[CLS]", "eos_token": "[SEP]", "unk_token": "<unk>",
                        "sep_token": "[SEP]", "pad_token": "<pad>", "cls_token": "[CLS]",
                        "mask_token": "[MASK]"})
    return {"source": "DebertaV2Converter(do_lower_case=False) of sentencepiece model A"}


def make_albert(model_a, out_dir):
    o = original(model_a, do_lower_case=True, keep_accents=False)
    tok = csl.AlbertConverter(o).converted()
    save(tok, out_dir, {"bos_token": "[CLS]", "eos_token": "[SEP]", "unk_token": "<unk>",
                        "sep_token": "[SEP]", "pad_token": "<pad>", "cls_token": "[CLS]",
                        "mask_token": AddedToken("[MASK]", lstrip=True, rstrip=False, normalized=False)})
    return {"source": "AlbertConverter(do_lower_case=True, keep_accents=False) of sentencepiece model A"}


def make_t5(model_c, out_dir):
    o = original(model_c, _extra_ids=EXTRA_IDS)
    o.legacy = False  # prepend_scheme "first"
    tok = T5ByteFallbackConverter(o).converted()
    extra = ["<extra_id_%d>" % i for i in range(EXTRA_IDS)]
    save(tok, out_dir, {"eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>"}, extra)
    return {"source": "T5Converter(legacy=False, extra_ids=%d) with handle_byte_fallback=True "
            "of sentencepiece model C (byte_fallback=True)" % EXTRA_IDS}


def make_deberta_tf5(model_a, out_dir):
    """transformers 5's own DebertaV2Tokenizer (no charsmap: NFC, a \\s regex, Strip right)."""
    sp = spm.SentencePieceProcessor(model_file=model_a)
    vocab = [(sp.id_to_piece(i), sp.get_score(i)) for i in range(sp.get_piece_size())]
    tok = transformers.DebertaV2Tokenizer(vocab=vocab, unk_token="<unk>", pad_token="<pad>", bos_token="[CLS]",
                                          eos_token="[SEP]", cls_token="[CLS]", sep_token="[SEP]",
                                          mask_token="[MASK]", model_max_length=512)
    tok.save_pretrained(out_dir)
    ot.write_special_tokens_map(tok, out_dir)
    return {"source": "transformers.DebertaV2Tokenizer(vocab=<model A's pieces and scores>)"}


def make_variants(model_c, out_dir):
    """Model C's pieces under the rest of what pifi reads: NFD (its reordering
    visible), anchored regexes, WhitespaceSplit before a Metaspace without split."""
    from tokenizers import Regex, decoders, models, normalizers, pre_tokenizers
    sp = spm.SentencePieceProcessor(model_file=model_c)
    vocab = [(sp.id_to_piece(i), sp.get_score(i)) for i in range(sp.get_piece_size())]
    tok = Tokenizer(models.Unigram(vocab, unk_id=sp.unk_id(), byte_fallback=True))
    tok.normalizer = normalizers.Sequence([
        normalizers.NFD(), normalizers.Replace(Regex(r"\A +| +\z"), ""),
        normalizers.Replace(Regex("\\A\u2581"), "\u2581\u2581"), normalizers.NFKC(),
        normalizers.NFD()])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Metaspace(prepend_scheme="always", split=False)])
    tok.decoder = decoders.Metaspace(prepend_scheme="always", split=False)
    save(tok, out_dir, {"eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>"})
    return {"source": "Unigram of model C's pieces (byte_fallback) with NFD, Replace(\\A +| +\\z), "
            "Replace(\\A\u2581), NFKC, NFD, WhitespaceSplit + Metaspace(always, split=False); no post-processor"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="/work/shared/data")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    transformers.logging.set_verbosity_error()

    cases = corpus.build_cases(args.data, SEED)
    cases += [{"text": t} for t in EXTRA]
    cases += [{"text": "first part", "pair": t} for t in EXTRA[:12]]
    lines = corpus.training_lines(args.data, TRAIN_SEED)
    tmp = tempfile.mkdtemp()
    try:
        model_a = train(lines, os.path.join(tmp, "a"), 2000, False,
                        dict(pad_id=0, unk_id=1, bos_id=2, eos_id=3, pad_piece="<pad>", unk_piece="<unk>",
                             bos_piece="[CLS]", eos_piece="[SEP]", user_defined_symbols=["[MASK]"]))
        model_c = train(lines, os.path.join(tmp, "c"), 1500, True,
                        dict(pad_id=0, eos_id=1, unk_id=2, bos_id=-1, pad_piece="<pad>", eos_piece="</s>",
                             unk_piece="<unk>"))
        builders = {
            "deberta_v3_unigram": lambda d: make_deberta(model_a, d),
            "albert_unigram": lambda d: make_albert(model_a, d),
            "t5_unigram_bytefallback": lambda d: make_t5(model_c, d),
            "deberta_v3_tf5": lambda d: make_deberta_tf5(model_a, d),
            "unigram_variants": lambda d: make_variants(model_c, d),
        }
        results = {}
        for name, build in builders.items():
            d = os.path.join(args.out, name)
            if os.path.isdir(d):
                shutil.rmtree(d)
            os.makedirs(d)
            info = build(d)
            rows, stats = ot.run_tokenizer(name, d, cases)
            results[name] = (d, info, rows, stats)
    finally:
        shutil.rmtree(tmp)

    bad = {i for (_, _, rows, _) in results.values() for i, r in enumerate(rows) if r is None}
    for name, (d, info, rows, stats) in results.items():
        kept = [r for i, r in enumerate(rows) if i not in bad]
        if name in SUBSET:  # every third case and all of EXTRA: a smaller file
            n_extra = len(EXTRA) + 12
            kept = [r for i, r in enumerate(kept) if i % 3 == 0 or i >= len(kept) - n_extra]
        raw = Tokenizer.from_file(os.path.join(d, "tokenizer.json"))
        for r in kept:  # the Metaspace decoder: `tokenizers`' decode of the ids
            r["decoded"] = raw.decode(r["ids"], skip_special_tokens=True)
        with open(os.path.join(d, "corpus.jsonl"), "w", encoding="utf-8") as f:
            for r in kept:
                if "\x00" in r["text"] or "\x00" in r.get("pair", ""):
                    r["has_nul"] = True
                f.write(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n")
        meta = ot.versions()
        meta["sentencepiece"] = spm.__version__
        meta.update({
            "script": "tools/oracle_unigram.py",
            "corpus": "tools/corpus.py build_cases(seed=%d) + this script's EXTRA cases, alone and "
                      "as pairs" % SEED,
            "seed": SEED,
            "train_seed": TRAIN_SEED,
            "training": "sentencepiece unigram, nmt_nfkc, character_coverage=0.9995, one thread, "
                        "on corpus.training_lines(seed=%d)" % TRAIN_SEED,
            "reference": "transformers AutoTokenizer.from_pretrained(<this dir>) __call__ with "
                         "return_offsets_mapping; char offsets converted to UTF-8 byte offsets; "
                         "decoded: tokenizers.Tokenizer.decode(ids, skip_special_tokens=True)",
            "cases": len(kept),
            "pairs": sum("pair" in r for r in kept),
            "truncated": sum("truncation" in r for r in kept),
            "padded": sum("pad_to" in r for r in kept),
            "no_special_tokens": sum(r.get("add_special_tokens") is False for r in kept),
            "unk_tokens": sum(r["ids"].count(json.load(open(os.path.join(d, "tokenizer.json")))["model"]["unk_id"])
                              for r in kept),
            "subset": "every third shared case, all EXTRA cases" if name in SUBSET else "all cases",
            "cases_dropped_everywhere": len(bad),
        })
        meta.update(info)
        meta.update(stats)
        with open(os.path.join(d, "meta.json"), "w", encoding="utf-8") as f:
            json.dump(meta, f, indent=2, ensure_ascii=False)
            f.write("\n")
        print(name, {k: meta[k] for k in ("cases", "pairs", "truncated", "padded", "unk_tokens")},
              "raw_dis", stats["raw_tokenizers_disagreements"], "dropped", len(stats["dropped_cases"]))


if __name__ == "__main__":
    main()
