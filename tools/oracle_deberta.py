"""Writes tests/fixtures/deberta/: the oracle of the DeBERTa family
(transformers' DebertaModel, model_type "deberta", and DebertaV2Model,
"deberta-v2": DeBERTa-V2 and V3), fp32, eager attention.

encoders/<name>/: a tiny randomly initialised checkpoint (config.json +
model.safetensors as transformers saves them); io.safetensors: a padded batch
(input_ids, attention_mask, token_type_ids), last_hidden_state, and for the
log-bucketed ones relative_position -600..600 with make_log_bucket_position's
bucket of each; grads.safetensors: dout (N(0,1)) and the gradient of
sum(last_hidden_state * dout) of every parameter under the checkpoint's names.
Weights drawn wider than the default init (normal std 0.2, LayerNorm weights
1 +- 0.1, nonzero biases) so a wrong op shows.

train/<case>/: 10 Adam steps of a PiFi classifier on the V3-like tiny SLM
(encoders/deberta_v3_tiny), as tools/oracle_train.py does for BERT (its
batches, heads, LoRA module and loop): base, pifi_llama (the last layer of
tests/fixtures/pifi/llama/llm), lora (r 8, alpha 16 on query_proj and
value_proj, which share_att_key also applies to the relative embeddings, as
PEFT's wrapped Linear is).

cli_v3/: a V3-like tiny model (default init, dropout 0.1) with the
vocabulary of tests/fixtures/tokenizers/deberta_v3_unigram, for
tests/cli/deberta_train.sh.

usage: oracle_deberta.py --out tests/fixtures/deberta
"""

import argparse
import json
import os
import shutil
import sys

import torch
import transformers
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle_train as ot  # noqa: E402
from oracle_pifi import Heads, dir_size, versions  # noqa: E402

SEED = 5150


def v1(**kw):
    base = dict(vocab_size=200, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                intermediate_size=64, hidden_act="gelu", max_position_embeddings=64,
                hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, layer_norm_eps=1e-7,
                pad_token_id=0, relative_attention=True)
    base.update(kw)
    return transformers.DebertaModel, transformers.DebertaConfig(**base)


def v2(**kw):
    base = dict(vocab_size=200, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                intermediate_size=64, hidden_act="gelu", max_position_embeddings=64,
                hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, layer_norm_eps=1e-7,
                pad_token_id=0, relative_attention=True)
    base.update(kw)
    return transformers.DebertaV2Model, transformers.DebertaV2Config(**base)


def specs():
    return {
        # v1: absolute positions and token types, c2p + p2c, span min(T, 64)
        "deberta_v1_tiny": v1(pos_att_type=["c2p", "p2c"], type_vocab_size=2),
        # v1: embedding_size != hidden (embed_proj), no absolute positions, c2p only,
        # max_relative_positions 5 < T (clamped spans), gelu_new
        "deberta_v1_emb": v1(pos_att_type="c2p", embedding_size=16, position_biased_input=False,
                             max_relative_positions=5, hidden_act="gelu_new", num_hidden_layers=3),
        # V3-like: log buckets, shared attention key, layer-normed relative embeddings,
        # no absolute positions, no token types
        "deberta_v3_tiny": v2(vocab_size=1000, pos_att_type=["p2c", "c2p"], position_buckets=8, max_relative_positions=32,
                              share_att_key=True, norm_rel_ebd="layer_norm", position_biased_input=False),
        # V2 without sharing: pos_key_proj / pos_query_proj, no buckets, clamped span 6,
        # absolute positions, token types, embed_proj
        "deberta_v2_noshare": v2(pos_att_type="c2p|p2c", max_relative_positions=6, share_att_key=False,
                                 type_vocab_size=2, embedding_size=16, hidden_act="gelu_new"),
        # V2, p2c alone, no relative LayerNorm, buckets 16 over 40 positions
        "deberta_v2_p2c": v2(pos_att_type=["p2c"], position_buckets=16, max_relative_positions=40,
                             share_att_key=True, num_hidden_layers=3),
        # V3-like and long: every bucket of 2 x 16 reached (distances to 149)
        "deberta_v3_long": v2(pos_att_type=["p2c", "c2p"], position_buckets=16, max_relative_positions=128,
                              share_att_key=True, norm_rel_ebd="layer_norm", position_biased_input=False,
                              hidden_size=48, num_attention_heads=6, intermediate_size=96,
                              max_position_embeddings=160),
        # V2 with the ConvLayer after layer 0 (as DeBERTa-V2 xlarge: kernel 3, tanh), V3-like otherwise
        "deberta_v2_conv": v2(vocab_size=1000, pos_att_type=["p2c", "c2p"], position_buckets=8, max_relative_positions=32,
                              share_att_key=True, norm_rel_ebd="layer_norm", position_biased_input=False,
                              conv_kernel_size=3),
        # one layer: the ConvLayer's output is the model's; kernel 5 in 4 groups, gelu, token types
        "deberta_v2_conv_groups": v2(pos_att_type="c2p|p2c", max_relative_positions=6, type_vocab_size=2,
                                     conv_kernel_size=5, conv_groups=4, conv_act="gelu", num_hidden_layers=1),
    }


SHAPES = {"deberta_v3_long": (2, 150, [150, 97])}
DEFAULT_SHAPE = (3, 12, [12, 9, 5])


def init_weights(model, gen):
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=gen)
            if "LayerNorm.weight" in name:
                p.copy_(1.0 + 0.1 * noise)
            elif "LayerNorm.bias" in name:
                p.copy_(0.1 * noise)
            else:
                p.copy_(0.2 * noise)


def make_inputs(cfg, gen, shape):
    B, T, lengths = shape
    ids = torch.full((B, T), cfg.pad_token_id, dtype=torch.int64)
    mask = torch.zeros((B, T), dtype=torch.int64)
    types = torch.zeros((B, T), dtype=torch.int64)
    for b, n in enumerate(lengths):
        ids[b, :n] = torch.randint(5, cfg.vocab_size, (n,), generator=gen)
        mask[b, :n] = 1
        if cfg.type_vocab_size > 1:
            cut = int(torch.randint(1, n, (1,), generator=gen))
            types[b, cut:n] = 1
    return ids, mask, types


def build_encoder(name, cls, cfg, out_dir):
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED + sum(map(ord, name)))
    cfg._attn_implementation = "eager"
    model = cls(cfg)
    init_weights(model, gen)
    model.eval()
    shape = SHAPES.get(name, DEFAULT_SHAPE)
    ids, mask, types = make_inputs(cfg, gen, shape)
    kw = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
    with torch.no_grad():
        out = model(**kw).last_hidden_state
    model.save_pretrained(out_dir)
    again = cls.from_pretrained(out_dir, attn_implementation="eager").eval()
    with torch.no_grad():
        if not torch.equal(again(**kw).last_hidden_state, out):
            raise RuntimeError(name + ": reloaded checkpoint gives different outputs")

    io = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types,
          "last_hidden_state": out.float().contiguous()}
    buckets = getattr(cfg, "position_buckets", -1)
    if cls is transformers.DebertaV2Model and buckets > 0:
        maxrel = cfg.max_relative_positions if cfg.max_relative_positions > 0 else cfg.max_position_embeddings
        rel = torch.arange(-600, 601, dtype=torch.int64)
        io["relative_position"] = rel
        io["relative_position_bucket"] = transformers.models.deberta_v2.modeling_deberta_v2 \
            .make_log_bucket_position(rel, buckets, maxrel).to(torch.int64).contiguous()
        # the real DeBERTa-V3's (position_buckets 256, max_relative_positions 512)
        io["relative_position_bucket_256_512"] = transformers.models.deberta_v2.modeling_deberta_v2 \
            .make_log_bucket_position(rel, 256, 512).to(torch.int64).contiguous()
    save_file(io, os.path.join(out_dir, "io.safetensors"))

    h = model(**kw).last_hidden_state
    dout = torch.randn(h.shape, generator=gen)
    model.zero_grad()
    (h * dout).sum().backward()
    grads = {"dout": dout.contiguous()}
    for n, p in model.named_parameters():
        grads[n] = (p.grad if p.grad is not None else torch.zeros_like(p)).detach().contiguous()
    save_file(grads, os.path.join(out_dir, "grads.safetensors"))

    meta = versions()
    meta.update({"script": "tools/oracle_deberta.py", "seed": SEED, "model_class": cls.__name__,
                 "attn_implementation": "eager", "dtype": "float32",
                 "init": "normal std 0.2; LayerNorm weight 1 + 0.1 N(0,1), bias 0.1 N(0,1)",
                 "batch": shape[0], "seq_len": shape[1], "lengths": shape[2], "outputs": sorted(io),
                 "grads": "grads.safetensors: dout (N(0,1), same generator, after the inputs) and the "
                          f"gradients of sum(last_hidden_state * dout) of all {len(grads) - 1} parameters, eval",
                 "abs_max_last_hidden_state": float(out.abs().max())})
    with open(os.path.join(out_dir, "meta.json"), "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    print(name, "params", sum(p.numel() for p in model.parameters()), "bytes", dir_size(out_dir))


# ---------------------------------------------------------------- training

TRAIN_SLM = "deberta_v3_tiny"
# case: (method, LLM layer arch, SLM)
TRAIN_CASES = {"base": ("base", None, TRAIN_SLM), "pifi_llama": ("pifi", "llama", TRAIN_SLM),
               "lora": ("lora", None, TRAIN_SLM), "pifi_llama_conv": ("pifi", "llama", "deberta_v2_conv")}


def build_classifier(method, arch, slm_dir):
    slm = transformers.DebertaV2Model.from_pretrained(slm_dir, attn_implementation="eager",
                                                      hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    lm = None
    if arch is not None:
        lm = transformers.AutoModelForCausalLM.from_pretrained(
            os.path.join(ot.PIFI_FIX, arch, "llm"), attn_implementation="eager", attention_dropout=0.0)
    torch.manual_seed(ot.SEED)
    heads = Heads(64)
    if method == "lora":
        gen = torch.Generator().manual_seed(ot.SEED + 1)
        for layer in slm.encoder.layer:
            att = layer.attention.self
            att.query_proj = ot.LoraLinear(att.query_proj, ot.LORA_R, ot.LORA_ALPHA, gen)
            att.value_proj = ot.LoraLinear(att.value_proj, ot.LORA_R, ot.LORA_ALPHA, gen)
    model = ot.Classifier(slm, heads, lm).eval()
    names = model.named_tensors()
    train = []
    for n, p in names.items():
        if n.startswith(("l_in.", "l_out.")):
            on = method == "pifi"
        elif n.startswith("head.") or ".lora_" in n:
            on = True
        elif n.startswith("llm."):
            on = False
        else:
            on = method != "lora"
        p.requires_grad_(on)
        if on:
            train.append(n)
    if lm is not None:
        for p in lm.parameters():
            p.requires_grad_(False)
    return model, train


def build_train_case(case, method, arch, slm_dir, out_dir, batches):
    model, train = build_classifier(method, arch, slm_dir)
    names = model.named_tensors()
    init = {n: names[n].detach().clone().contiguous() for n in names
            if n.startswith("head.") or ".lora_" in n or (method == "pifi" and n.startswith(("l_in.", "l_out.")))}
    run = ot.train_run(model, train, "adam", batches, manual=False)
    model_d, _ = build_classifier(method, arch, slm_dir)
    run_d = ot.train_run(ot.rmsnorm_in_input_dtype(model_d.double()), train, "adam", batches, manual=False)
    save_file(init, os.path.join(out_dir, "init.safetensors"))
    save_file({k: v.contiguous() for k, v in batches.items()}, os.path.join(out_dir, "batches.safetensors"))
    tensors = dict(run["grads"])
    tensors.update(run["step0"])
    save_file(tensors, os.path.join(out_dir, "grads.safetensors"))
    meta = {"case": case, "method": method, "arch": arch, "slm": f"../../encoders/{os.path.basename(slm_dir)}",
            "llm": f"../../../pifi/{arch}/llm" if arch else None, "plugged_layer": 2 if arch else None,
            "pooling": "cls", "classes": ot.K, "batch": ot.B, "seq_len": ot.T, "steps": ot.S,
            "optimizer": {"name": "adam", "lr": ot.HP["lr"], "betas": ot.HP["betas"], "eps": ot.HP["eps"],
                          "weight_decay": 0.0},
            "clip_grad_norm": ot.HP["clip_grad_norm"], "label_smoothing": ot.HP["label_smoothing"],
            "dropout": "all off (config p = 0, head and LoRA dropout in eval)",
            "trainable": [{"name": n, "shape": list(names[n].shape)} for n in train],
            "loss": run["loss"], "grad_norm": run["grad_norm"],
            "fp64_loss_max_diff": max(abs(a - b) for a, b in zip(run["loss"], run_d["loss"])),
            "init": "oracle_train.py's: heads from torch.manual_seed, LoRA A and B normal(0, 0.1)"}
    if method == "lora":
        meta["lora"] = {"r": ot.LORA_R, "alpha": ot.LORA_ALPHA, "targets": "attention.self.query_proj and "
                        "attention.self.value_proj, every layer (query_proj also on the relative embeddings: "
                        "share_att_key)"}
    with open(os.path.join(out_dir, "meta.json"), "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    print(case, "loss", f"{run['loss'][0]:.5f} -> {run['loss'][-1]:.5f}", "fp64 diff",
          f"{meta['fp64_loss_max_diff']:.2g}", "bytes", dir_size(out_dir))


def build_cli_model(out_dir):
    """cli_v3/: the V3-like tiny model with the vocabulary of
    tests/fixtures/tokenizers/deberta_v3_unigram (2000 pieces, <pad> 0), weights
    only: tests/cli/deberta_train.sh puts the two together and trains it."""
    _, cfg = v2(vocab_size=2000, pos_att_type=["p2c", "c2p"], position_buckets=8, max_relative_positions=32,
                share_att_key=True, norm_rel_ebd="layer_norm", position_biased_input=False,
                hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1)
    torch.manual_seed(SEED)
    model = transformers.DebertaV2Model(cfg)
    model.save_pretrained(out_dir)
    print("cli_v3 params", sum(p.numel() for p in model.parameters()), "bytes", dir_size(out_dir))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    enc = os.path.join(args.out, "encoders")
    for name, (cls, cfg) in specs().items():
        d = os.path.join(enc, name)
        if os.path.isdir(d):
            shutil.rmtree(d)
        os.makedirs(d)
        build_encoder(name, cls, cfg, d)
    d = os.path.join(args.out, "cli_v3")
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)
    build_cli_model(d)
    batches, _ = ot.make_batches()
    for case, (method, arch, slm) in TRAIN_CASES.items():
        d = os.path.join(args.out, "train", case)
        if os.path.isdir(d):
            shutil.rmtree(d)
        os.makedirs(d)
        build_train_case(case, method, arch, os.path.join(enc, slm), d, batches)


if __name__ == "__main__":
    main()
