#!/usr/bin/env python3
"""oracle_gguf_encoder.py: BERT-architecture encoders and tokenizers as GGUF.

A GGUF of a BERT model laid out the way llama.cpp's convert_hf_to_gguf.py
(class BertModel) lays it out for the `bert` architecture, written with PyPI's
`gguf` package (the writer, the tensor-name map and SpecialVocab the converter
itself uses):

  metadata  general.architecture = "bert"; bert.block_count, context_length,
            embedding_length, feed_forward_length, attention.head_count,
            attention.layer_norm_epsilon, attention.causal = false,
            pooling_type (from the sentence-transformers Pooling module),
            general.file_type
  vocab     tokenizer.ggml.model = "bert", tokenizer.ggml.pre, tokens in the
            converter's "phantom space" spelling (a word-initial token gets a
            leading U+2581, a "##" continuation loses its "##", "[...]" stays),
            token_type (CONTROL for special added tokens, USER_DEFINED for
            other added ones, UNUSED for ids without a token, NORMAL else),
            token_type_count = type_vocab_size, and the special token ids and
            add_*_token flags SpecialVocab reads ([CLS] is the bos id, [SEP]
            the separator id)
  tensors   token_embd, token_types, position_embd, token_embd_norm,
            blk.N.attn_q/k/v, attn_output, attn_output_norm, ffn_up, ffn_down,
            layer_output_norm (.weight/.bias), the pooler and any cls.* head
            dropped (the converter drops them); 1-D tensors, norms,
            position_embd and token_types always F32, the other matrices in
            the file type (F32, F16 or Q8_0)

Modes:
  --convert HF_DIR --out FILE [--ftype f32|f16|q8_0] [--vocab-only]
      one model (e.g. the real all-MiniLM-L6-v2; the f32 file is ~90 MB and is
      not committed: tests/test_encoder_gguf.c compares it with the
      safetensors original when $PIFI_MODELS/all-MiniLM-L6-v2.gguf exists)
  --fixtures --minilm DIR --data DIR --out-root tests/fixtures
      the committed fixtures:
        gguf_encoder/tiny_{f32,f16,q8_0}.gguf  a random 2-layer BERT (hidden
            32, vocabulary: 1200 of all-MiniLM-L6-v2's tokens) and
            gguf_encoder/ref.json + tiny_<ftype>.f32: transformers' BertModel
            last_hidden_state (fp32, eval, eager) on a padded batch with a
            pair, from the weights as each GGUF stores them (read back with
            GGUFReader and dequantized with gguf.quants.dequantize)
        tokenizers/bert_uncased/vocab.gguf  all-MiniLM-L6-v2's vocabulary
            alone (no tensors, as llama.cpp's ggml-vocab-*.gguf files), read
            against the same corpus.jsonl as its tokenizer.json
        gguf_tokenizers/<name>.jsonl  {"text", "ids"} for the corpus strings
            (tools/corpus.py) through HF `tokenizers` built from a real GGUF's
            own vocabulary by transformers' GGUF tokenizer builder
            (transformers.integrations.gguf), with the pre-tokenizer that
            tokenizer.ggml.pre names (see pre_tokenizer_for): smollm2 (gpt2
            byte-level BPE with merges), qwen25 (Qwen2.5-Coder-0.5B-Instruct:
            gpt2 with the Qwen2 Split regex, extra cases of digit runs,
            \r\n mixes and upper-case contractions) and stories260k (llama:
            SentencePiece BPE by scores with byte fallback)

  --fuzz-seeds fuzz/corpus/gguf_encoder
      small seeds for the fuzz harness: a micro BERT, gpt2 (pre smollm,
      llama-bpe, qwen2) and llama vocabularies

usage: oracle_gguf_encoder.py --convert DIR --out FILE [--ftype f16]
       oracle_gguf_encoder.py --fuzz-seeds fuzz/corpus/gguf_encoder
       oracle_gguf_encoder.py --fixtures --minilm DIR --data DIR
           --smollm2 FILE --stories FILE --qwen25 FILE [--out-root tests/fixtures]
           [--tokenizers-only]
"""
import argparse
import json
import os
import sys
import tempfile

import numpy as np
import gguf
import torch
import transformers
from safetensors.numpy import load_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpus  # noqa: E402

ARCH = gguf.MODEL_ARCH.BERT
FTYPES = {
    "f32": (gguf.LlamaFileType.ALL_F32, gguf.GGMLQuantizationType.F32),
    "f16": (gguf.LlamaFileType.MOSTLY_F16, gguf.GGMLQuantizationType.F16),
    "q8_0": (gguf.LlamaFileType.MOSTLY_Q8_0, gguf.GGMLQuantizationType.Q8_0),
}

# ------------------------------------------------------------------ converter


def vocab_of(hf_dir, n_vocab):
    """tokens and token types as convert_hf_to_gguf.py's get_vocab_base makes them."""
    tok = transformers.AutoTokenizer.from_pretrained(hf_dir)
    reverse = {i: t for t, i in tok.get_vocab().items()}
    added = tok.get_added_vocab()
    decoder = tok.added_tokens_decoder
    tokens, types = [], []
    for i in range(n_vocab):
        if i not in reverse:
            tokens.append("[PAD%d]" % i)
            types.append(gguf.TokenType.UNUSED)
        elif reverse[i] in added:
            tokens.append(reverse[i])
            types.append(gguf.TokenType.CONTROL if decoder[i].special else gguf.TokenType.USER_DEFINED)
        else:
            tokens.append(reverse[i])
            types.append(gguf.TokenType.NORMAL)
    return tokens, types


def phantom(tok):
    """The converter's phantom-space spelling of a WordPiece token."""
    if tok.startswith("[") and tok.endswith("]"):
        return tok
    if tok.startswith("##"):
        return tok[2:]
    return "\u2581" + tok


def pooling_type(hf_dir):
    path = os.path.join(hf_dir, "modules.json")
    if not os.path.isfile(path):
        return None
    with open(path) as f:
        for mod in json.load(f):
            if mod["type"] == "sentence_transformers.models.Pooling":
                with open(os.path.join(hf_dir, mod["path"], "config.json")) as g:
                    p = json.load(g)
                if p.get("pooling_mode_mean_tokens"):
                    return gguf.PoolingType.MEAN
                if p.get("pooling_mode_cls_token"):
                    return gguf.PoolingType.CLS
    return None


def tensor_qtype(new_name, n_dims, ftype):
    """The storage type the converter's prepare_tensors picks."""
    if n_dims <= 1 or new_name.endswith("_norm.weight") or not new_name.endswith(".weight"):
        return gguf.GGMLQuantizationType.F32
    if new_name in ("position_embd.weight", "token_types.weight"):
        return gguf.GGMLQuantizationType.F32
    return FTYPES[ftype][1]


def convert(hf_dir, out, ftype="f32", vocab_only=False):
    with open(os.path.join(hf_dir, "config.json")) as f:
        hp = json.load(f)
    L = hp["num_hidden_layers"]
    w = gguf.GGUFWriter(out, gguf.MODEL_ARCH_NAMES[ARCH])
    w.add_block_count(L)
    w.add_context_length(hp["max_position_embeddings"])
    w.add_embedding_length(hp["hidden_size"])
    w.add_feed_forward_length(hp["intermediate_size"])
    w.add_head_count(hp["num_attention_heads"])
    w.add_layer_norm_eps(hp.get("layer_norm_eps", 1e-12))
    w.add_file_type(FTYPES[ftype][0])
    w.add_causal_attention(False)
    pt = pooling_type(hf_dir)
    if pt is not None:
        w.add_pooling_type(pt)
    tokens, types = vocab_of(hf_dir, hp["vocab_size"])
    w.add_token_type_count(hp.get("type_vocab_size", 1))
    w.add_tokenizer_model("bert")
    w.add_tokenizer_pre("default")
    w.add_token_list([phantom(t) for t in tokens])
    w.add_token_types(types)
    gguf.SpecialVocab(hf_dir, n_vocab=len(tokens)).add_to_gguf(w, quiet=True)
    if not vocab_only:
        names = gguf.get_tensor_name_map(ARCH, L)
        for name, data in load_file(os.path.join(hf_dir, "model.safetensors")).items():
            if name.startswith("bert."):
                name = name[5:]
            if name in ("embeddings.position_ids",) or name.startswith(("pooler.", "cls.")):
                continue
            new = names.get_name(name, try_suffixes=(".weight", ".bias"))
            if new is None:
                raise SystemExit("%s: cannot map tensor %r" % (hf_dir, name))
            data = data.astype(np.float32)
            q = tensor_qtype(new, data.ndim, ftype)
            if q == gguf.GGMLQuantizationType.F32:
                w.add_tensor(new, data)
            elif q == gguf.GGMLQuantizationType.F16:
                w.add_tensor(new, data.astype(np.float16))
            else:
                w.add_tensor(new, gguf.quants.quantize(data, q), raw_dtype=q)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


# ------------------------------------------------------------------ reading a GGUF back


def hf_names(L):
    """GGUF name -> HF BertModel name, from the same map."""
    m = gguf.get_tensor_name_map(ARCH, L)
    out = {}
    for hf in ["embeddings.word_embeddings", "embeddings.token_type_embeddings",
               "embeddings.position_embeddings", "embeddings.LayerNorm"] + [
            "encoder.layer.%d.%s" % (l, s) for l in range(L) for s in (
                "attention.self.query", "attention.self.key", "attention.self.value",
                "attention.output.dense", "attention.output.LayerNorm", "intermediate.dense",
                "output.dense", "output.LayerNorm")]:
        for suf in (".weight", ".bias"):
            out[m.get_name(hf + suf, try_suffixes=(".weight", ".bias"))] = hf + suf
    return out


def gguf_state_dict(path, L):
    r = gguf.GGUFReader(path)
    names = hf_names(L)
    sd = {}
    for t in r.tensors:
        v = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32)
        shape = tuple(int(x) for x in reversed(t.shape))
        sd[names[t.name]] = torch.from_numpy(np.ascontiguousarray(v.reshape(shape)))
    return sd


# ------------------------------------------------------------------ fixtures

TINY = dict(vocab_size=1200, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
            intermediate_size=64, max_position_embeddings=64, type_vocab_size=2,
            layer_norm_eps=1e-12, hidden_act="gelu")
TINY_SEED = 21
TINY_TEXTS = [
    ["the man was in the new house with his family.", None],
    ["He said: there are two of them!", "she did, after all"],
    ["no", None],
]


def tiny_model_dir(minilm, d):
    """A random BertModel whose vocabulary is all-MiniLM-L6-v2's ids 0..999
    (specials, [unused*], single characters) and 1996..2195 (its 200 most
    frequent words and pieces), renumbered 0..1199: its tokenizer.json with
    that vocabulary ([CLS] 101 and [SEP] 102 stay)."""
    import shutil
    with open(os.path.join(minilm, "tokenizer.json"), encoding="utf-8") as f:
        tj = json.load(f)
    keep = sorted((i, t) for t, i in tj["model"]["vocab"].items() if i < 1000 or 1996 <= i < 2196)
    assert len(keep) == TINY["vocab_size"]
    tj["model"]["vocab"] = {t: k for k, (_, t) in enumerate(keep)}
    tj["added_tokens"] = [a for a in tj["added_tokens"] if a["id"] < TINY["vocab_size"]]
    with open(os.path.join(d, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tj, f, ensure_ascii=False)
    for name in ("tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(os.path.join(minilm, name), d)
    with open(os.path.join(d, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("".join(t + "\n" for t, _ in sorted(tj["model"]["vocab"].items(), key=lambda x: x[1])))
    tok = transformers.AutoTokenizer.from_pretrained(d)
    assert tok.convert_tokens_to_ids("[CLS]") == 101 and tok("the")["input_ids"] == [101, 1000, 102]
    torch.manual_seed(TINY_SEED)
    cfg = transformers.BertConfig(**TINY, attn_implementation="eager")
    model = transformers.BertModel(cfg, add_pooling_layer=True).eval()
    with torch.no_grad():  # make the biases and norms visible in the outputs
        for n, p in model.named_parameters():
            if n.endswith("bias") or "LayerNorm" in n:
                p.add_(0.1 * torch.randn_like(p))
    model.save_pretrained(d, safe_serialization=True)
    return tok


def make_encoder_fixtures(minilm, out):
    os.makedirs(out, exist_ok=True)
    ref = {"source": "tools/oracle_gguf_encoder.py", "transformers": transformers.__version__,
           "gguf": gguf.__version__ if hasattr(gguf, "__version__") else "0.19.0", "config": TINY,
           "seed": TINY_SEED, "texts": TINY_TEXTS, "files": {}}
    with tempfile.TemporaryDirectory() as d:
        tok = tiny_model_dir(minilm, d)
        batch = [tok(t, p) if p else tok(t) for t, p in TINY_TEXTS]
        T = max(len(b["input_ids"]) for b in batch)
        ids = [b["input_ids"] + [0] * (T - len(b["input_ids"])) for b in batch]
        tt = [b["token_type_ids"] + [0] * (T - len(b["input_ids"])) for b in batch]
        mask = [[1] * len(b["input_ids"]) + [0] * (T - len(b["input_ids"])) for b in batch]
        ref.update(B=len(batch), T=T, C=TINY["hidden_size"], input_ids=ids, token_type_ids=tt,
                   attention_mask=mask)
        cfg = transformers.BertConfig(**TINY, attn_implementation="eager")
        for ft in FTYPES:
            path = os.path.join(out, "tiny_%s.gguf" % ft)
            convert(d, path, ft)
            model = transformers.BertModel(cfg, add_pooling_layer=False).eval()
            missing, unexpected = model.load_state_dict(gguf_state_dict(path, TINY["num_hidden_layers"]),
                                                        strict=False)
            assert not unexpected and all("position_ids" in k for k in missing), (missing, unexpected)
            with torch.no_grad():
                h = model(input_ids=torch.tensor(ids), token_type_ids=torch.tensor(tt),
                          attention_mask=torch.tensor(mask)).last_hidden_state
            h.numpy().astype("<f4").tofile(os.path.join(out, "tiny_%s.f32" % ft))
            ref["files"][ft] = {"gguf": "tiny_%s.gguf" % ft, "hidden": "tiny_%s.f32" % ft}
    with open(os.path.join(out, "ref.json"), "w") as f:
        json.dump(ref, f, indent=1)


# llama.cpp's pre-tokenizer types (tokenizer.ggml.pre) as HF `tokenizers`
# pre-tokenizers; transformers' GGUF builder leaves "smollm" at plain
# ByteLevel, but llama.cpp splits every digit off first (its SMOLLM regexes),
# as SmolLM2's own tokenizer.json does with Digits(individual_digits=True).
# The Split regexes transformers itself puts before ByteLevel for llama.cpp's
# "llama-bpe", "qwen2", ... (GGUF_PRE_TOKENIZER_SPLITS) are kept as it builds
# them: the Llama-3 and Qwen2 regexes of their tokenizer.json files.
def pre_tokenizer_for(pre):
    from tokenizers import pre_tokenizers as P
    from transformers.integrations.gguf.gguf_tokenizer_mapping import GGUF_PRE_TOKENIZER_SPLITS
    if pre in GGUF_PRE_TOKENIZER_SPLITS:
        return None
    if pre == "smollm":
        return P.Sequence([P.Digits(individual_digits=True),
                           P.ByteLevel(add_prefix_space=False, use_regex=True)])
    if pre in (None, "default", "gpt2"):
        return P.ByteLevel(add_prefix_space=False, use_regex=True)
    raise SystemExit("no oracle pre-tokenizer for tokenizer.ggml.pre %r" % pre)


def gguf_backend_tokenizer(path):
    """HF `tokenizers` from the file's own vocabulary (transformers' GGUF builder)."""
    from transformers.integrations.gguf import gguf_tokenizer_mapping as M
    from transformers.integrations.gguf.reader import read_gguf_metadata
    meta, _ = read_gguf_metadata(path, ("tokenizer.ggml.tokens", "tokenizer.ggml.merges",
                                        "tokenizer.ggml.scores", "tokenizer.ggml.token_type"))
    arch = meta["general.architecture"]
    d = {name: meta["tokenizer." + key] for key, name in M.GGUF_TOKENIZER_MAPPING["tokenizer"].items()
         if "tokenizer." + key in meta}
    backend, _ = M.convert_gguf_tokenizer(arch, d)
    add_bos = meta.get("tokenizer.ggml.add_bos_token", d.get("tokenizer_type") == "llama")
    if d.get("tokenizer_type") == "gpt2":
        pre = pre_tokenizer_for(d.get("pre_tokenizer_type"))
        if pre is not None:
            backend.pre_tokenizer = pre
    return backend, d, bool(add_bos)


# Special tokens inside the text: the segment after one does not start the
# input, so Metaspace puts no U+2581 before it.
EXTRA_CASES = ["<s>Once upon a time", "a</s>b c", "</s> two", "x<unk>y", "<|im_start|>user\nhi 42<|im_end|>",
               "<|endoftext|>  spaced", "12<|im_end|>34"]


def make_tokenizer_fixtures(name, gguf_path, cases, out):
    backend, d, add_bos = gguf_backend_tokenizer(gguf_path)
    bos = d.get("bos_token_id")
    os.makedirs(out, exist_ok=True)
    n = 0
    with open(os.path.join(out, name + ".jsonl"), "w", encoding="utf-8") as f:
        extra = corpus.split_regex_cases() if d.get("pre_tokenizer_type") == "qwen2" else []
        for text in [c["text"] for c in cases] + EXTRA_CASES + extra:
            if "\x00" in text:
                continue
            ids = backend.encode(text, add_special_tokens=False).ids
            if add_bos:
                ids = [bos] + ids
            f.write(json.dumps({"text": text, "ids": ids}, ensure_ascii=False, separators=(",", ":")) + "\n")
            n += 1
    meta = {"source": "tools/oracle_gguf_encoder.py", "gguf": os.path.basename(gguf_path),
            "tokenizer_type": d.get("tokenizer_type"), "pre": d.get("pre_tokenizer_type"),
            "add_bos": add_bos, "cases": n, "transformers": transformers.__version__,
            "pre_tokenizer": json.loads(backend.to_str()).get("pre_tokenizer"),
            "normalizer": json.loads(backend.to_str()).get("normalizer")}
    with open(os.path.join(out, name + ".meta.json"), "w") as f:
        json.dump(meta, f, indent=1)


def fuzz_seeds(out):
    """Small seeds for fuzz/fuzz_gguf_encoder.c: a micro BERT (f16 matrices)
    with a bert vocabulary, and gpt2 / llama vocabularies alone."""
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(5)
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "a", "cat", "##s", "##ing", "sat", ".", "!", "\u00e9"]
    V, C, L, FF, T = len(words), 8, 1, 16, 16
    w = gguf.GGUFWriter(os.path.join(out, "bert_micro.gguf"), "bert")
    w.add_block_count(L), w.add_context_length(T), w.add_embedding_length(C), w.add_feed_forward_length(FF)
    w.add_head_count(2), w.add_layer_norm_eps(1e-12), w.add_causal_attention(False)
    w.add_pooling_type(gguf.PoolingType.MEAN)
    w.add_token_type_count(2), w.add_tokenizer_model("bert"), w.add_tokenizer_pre("default")
    w.add_token_list([phantom(t) for t in words])
    w.add_token_types([gguf.TokenType.CONTROL] * 5 + [gguf.TokenType.NORMAL] * (V - 5))
    w.add_unk_token_id(1), w.add_bos_token_id(2), w.add_sep_token_id(3), w.add_pad_token_id(0)
    names = gguf.get_tensor_name_map(ARCH, L)
    shapes = {"embeddings.word_embeddings.weight": (V, C), "embeddings.token_type_embeddings.weight": (2, C),
              "embeddings.position_embeddings.weight": (T, C), "embeddings.LayerNorm.weight": (C,),
              "embeddings.LayerNorm.bias": (C,)}
    for part, shape in (("attention.self.query", (C, C)), ("attention.self.key", (C, C)),
                        ("attention.self.value", (C, C)), ("attention.output.dense", (C, C)),
                        ("attention.output.LayerNorm", (C,)), ("intermediate.dense", (FF, C)),
                        ("output.dense", (C, FF)), ("output.LayerNorm", (C,))):
        shapes["encoder.layer.0.%s.weight" % part] = shape
        shapes["encoder.layer.0.%s.bias" % part] = shape[:1]
    for hf, shape in shapes.items():
        new = names.get_name(hf, try_suffixes=(".weight", ".bias"))
        data = rng.standard_normal(shape).astype(np.float32)
        w.add_tensor(new, data.astype(np.float16) if tensor_qtype(new, len(shape), "f16") ==
                     gguf.GGMLQuantizationType.F16 else data)
    w.write_header_to_file(), w.write_kv_data_to_file(), w.write_tensors_to_file(), w.close()

    w = gguf.GGUFWriter(os.path.join(out, "gpt2_vocab.gguf"), "llama")
    toks = ["<|endoftext|>", "h", "e", "l", "o", "\u0120", "1", "2", "he", "ll", "hell", "hello", "\u0120h"]
    w.add_tokenizer_model("gpt2"), w.add_tokenizer_pre("smollm"), w.add_token_list(toks)
    w.add_token_types([gguf.TokenType.CONTROL] + [gguf.TokenType.NORMAL] * (len(toks) - 1))
    w.add_token_merges(["h e", "l l", "he ll", "hell o", "\u0120 h"])
    w.add_bos_token_id(0), w.add_eos_token_id(0), w.add_add_bos_token(False)
    w.write_header_to_file(), w.write_kv_data_to_file(), w.write_tensors_to_file(), w.close()

    for pre in ("llama-bpe", "qwen2"):  # the Split regexes (src/text/split_regex.c)
        w = gguf.GGUFWriter(os.path.join(out, "gpt2_%s_vocab.gguf" % pre), "llama")
        toks = ["<|endoftext|>", "h", "e", "l", "o", "\u0120", "1", "2", "3", "'", "S", "\u010a", "\u010d",
                "he", "ll", "hell", "hello", "\u0120h", "12", "123", "'S", "\u010d\u010a"]
        w.add_tokenizer_model("gpt2"), w.add_tokenizer_pre(pre), w.add_token_list(toks)
        w.add_token_types([gguf.TokenType.CONTROL] + [gguf.TokenType.NORMAL] * (len(toks) - 1))
        w.add_token_merges(["h e", "l l", "he ll", "hell o", "\u0120 h", "1 2", "12 3", "' S", "\u010d \u010a"])
        w.add_bos_token_id(0), w.add_eos_token_id(0), w.add_add_bos_token(pre == "llama-bpe")
        w.write_header_to_file(), w.write_kv_data_to_file(), w.write_tensors_to_file(), w.close()

    w = gguf.GGUFWriter(os.path.join(out, "llama_vocab.gguf"), "llama")
    toks = ["<unk>", "<s>", "</s>"] + ["<0x%02X>" % b for b in range(256)] + ["\u2581", "h", "i", "\u2581h", "\u2581hi"]
    w.add_tokenizer_model("llama"), w.add_token_list(toks)
    w.add_token_scores([0.0] * 259 + [-1.0, -2.0, -3.0, -4.0, -5.0])
    w.add_token_types([gguf.TokenType.UNKNOWN, gguf.TokenType.CONTROL, gguf.TokenType.CONTROL] +
                      [gguf.TokenType.BYTE] * 256 + [gguf.TokenType.NORMAL] * 5)
    w.add_unk_token_id(0), w.add_bos_token_id(1), w.add_eos_token_id(2)
    w.write_header_to_file(), w.write_kv_data_to_file(), w.write_tensors_to_file(), w.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--convert")
    ap.add_argument("--out")
    ap.add_argument("--ftype", default="f32", choices=sorted(FTYPES))
    ap.add_argument("--vocab-only", action="store_true")
    ap.add_argument("--fixtures", action="store_true")
    ap.add_argument("--minilm")
    ap.add_argument("--data")
    ap.add_argument("--smollm2")
    ap.add_argument("--stories")
    ap.add_argument("--qwen25", help="Qwen2.5-Coder-0.5B-Instruct.Q4_K_M.gguf (tokenizer.ggml.pre qwen2)")
    ap.add_argument("--tokenizers-only", action="store_true",
                    help="with --fixtures: only gguf_tokenizers/ (no --minilm needed)")
    ap.add_argument("--out-root", default="tests/fixtures")
    ap.add_argument("--fuzz-seeds", help="write fuzz/corpus/gguf_encoder seeds into this folder")
    a = ap.parse_args()
    if a.convert:
        convert(a.convert, a.out, a.ftype, a.vocab_only)
        return
    if a.fuzz_seeds:
        fuzz_seeds(a.fuzz_seeds)
        return
    if not a.fixtures:
        ap.error("--convert DIR --out FILE, or --fixtures")
    root = a.out_root
    if not a.tokenizers_only:
        make_encoder_fixtures(a.minilm, os.path.join(root, "gguf_encoder"))
        convert(a.minilm, os.path.join(root, "tokenizers", "bert_uncased", "vocab.gguf"), "f32", vocab_only=True)
    cases = corpus.build_cases(a.data, 1234)  # the seed of tools/oracle_tokenizers.py
    out = os.path.join(root, "gguf_tokenizers")
    if a.smollm2:
        make_tokenizer_fixtures("smollm2", a.smollm2, cases, out)
    if a.stories:
        make_tokenizer_fixtures("stories260k", a.stories, cases, out)
    if a.qwen25:
        make_tokenizer_fixtures("qwen25", a.qwen25, cases, out)


if __name__ == "__main__":
    main()
