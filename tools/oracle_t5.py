"""Writes tests/fixtures/seq2seq/t5_<case>/: the oracle of the T5 family
(transformers' T5ForConditionalGeneration, v1.0 and v1.1/FLAN), fp32, eager
attention, eval mode (no dropout).

Each case directory is a tiny randomly initialised checkpoint (config.json +
model.safetensors) and
  io.safetensors     input_ids, attention_mask (B, Ts: source padding),
                     relative_position -300..300 and its buckets
                     bucket_{bidirectional,causal}_<buckets>_<max_distance>
                     at the case's config and at the real T5's (32, 128),
                     labels (B, Tt; -100 past each target's length),
                     decoder_input_ids (shift_right(labels), as the model
                     makes them), encoder_last_hidden_state (B, Ts, C),
                     logits (B, Tt, V), loss (1): transformers' mean
                     cross-entropy over the labels that are not -100;
  grads.safetensors  the gradient of that loss of every parameter under its
                     checkpoint name (a tied matrix once, "shared.weight"),
                     and d_encoder_last_hidden_state, the gradient reaching
                     the encoder's output (the decoder's memory);
  meta.json          versions, config, shapes, and the losses of 10
                     torch.optim.AdamW steps (lr, weight decay on every
                     tensor but the layer norms) on the same batch.

v1.0-like (relu, tied LM head with the d_model^-0.5 rescale) is saved by
save_pretrained as transformers writes it. v1.1-like (gated-gelu, untied)
is written as the real FLAN-T5 checkpoints are: tie_word_embeddings false, a
separate lm_head.weight, and copies of the shared matrix as
encoder.embed_tokens.weight / decoder.embed_tokens.weight (transformers 5
ties every T5's LM head, so this case's model gets a separate lm_head module
here). Relative attention: 8 buckets up to distance 16 with lengths ~20, so
the logarithmic buckets and the clamp at max_distance are both reached.

usage: oracle_t5.py --out tests/fixtures/seq2seq
"""

import argparse
import json
import os
import sys

import torch
import transformers
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from oracle_pifi import dir_size, versions  # noqa: E402

SEED = 2205
STEPS = 10
LR = 3e-3
WEIGHT_DECAY = 0.01


def t5(**kw):
    base = dict(vocab_size=100, d_model=32, d_kv=8, d_ff=64, num_layers=2, num_heads=4,
                relative_attention_num_buckets=8, relative_attention_max_distance=16,
                dropout_rate=0.1, layer_norm_epsilon=1e-6, pad_token_id=0, eos_token_id=1,
                decoder_start_token_id=0)
    base.update(kw)
    return base


# case: (config, untied, (B, Ts, source lengths), (Tt, target lengths))
CASES = {
    # v1.0: relu, tied and rescaled, d_kv * heads == d_model
    "t5_v10": (t5(feed_forward_proj="relu"), False, (3, 20, [20, 13, 6]), (18, [18, 11, 5])),
    # v1.1 / FLAN: gated-gelu, untied, inner dim 3 x 12 = 36 != d_model 24, more decoder layers
    "t5_v11": (t5(feed_forward_proj="gated-gelu", d_model=24, d_kv=12, num_heads=3, d_ff=40,
                  num_decoder_layers=3, layer_norm_epsilon=1e-5), True, (2, 22, [22, 9]), (21, [21, 15])),
}


def init_weights(model, gen):
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=gen)
            if "layer_norm" in name:
                p.copy_(1.0 + 0.1 * noise)
            elif "relative_attention_bias" in name or "shared" in name or "lm_head" in name:
                p.copy_(noise)
            else:
                p.copy_(0.2 * noise)


def make_batch(cfg, gen, src, tgt):
    B, Ts, slen = src
    Tt, tlen = tgt
    ids = torch.full((B, Ts), cfg.pad_token_id, dtype=torch.int64)
    mask = torch.zeros((B, Ts), dtype=torch.int64)
    labels = torch.full((B, Tt), -100, dtype=torch.int64)
    for b in range(B):
        ids[b, :slen[b]] = torch.randint(2, cfg.vocab_size, (slen[b],), generator=gen)
        mask[b, :slen[b]] = 1
        labels[b, :tlen[b]] = torch.randint(2, cfg.vocab_size, (tlen[b],), generator=gen)
    return ids, mask, labels


def build_model(cfg_kw, untied, gen):
    cfg = transformers.T5Config(**cfg_kw)
    cfg._attn_implementation = "eager"
    model = transformers.T5ForConditionalGeneration(cfg)
    if untied:
        model.lm_head = torch.nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)
        model.config.scale_decoder_outputs = False
    init_weights(model, gen)
    return model.eval()


def run(model, ids, mask, labels):
    enc = model.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
    out = model(encoder_outputs=(enc,), attention_mask=mask, labels=labels)
    return enc, out


def save_checkpoint(model, cfg_kw, untied, out_dir):
    if not untied:
        model.save_pretrained(out_dir, safe_serialization=True)
        return
    os.makedirs(out_dir, exist_ok=True)
    sd = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    sd["encoder.embed_tokens.weight"] = sd["shared.weight"].clone()
    sd["decoder.embed_tokens.weight"] = sd["shared.weight"].clone()
    save_file(sd, os.path.join(out_dir, "model.safetensors"), metadata={"format": "pt"})
    conf = dict(cfg_kw)
    conf.update({"model_type": "t5", "architectures": ["T5ForConditionalGeneration"],
                 "tie_word_embeddings": False, "is_encoder_decoder": True,
                 "transformers_version": transformers.__version__})
    with open(os.path.join(out_dir, "config.json"), "w", encoding="utf-8") as f:
        json.dump(conf, f, indent=2, sort_keys=True)
        f.write("\n")


def build_case(name, out_root):
    cfg_kw, untied, src, tgt = CASES[name]
    out_dir = os.path.join(out_root, name)
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED + sum(map(ord, name)))
    model = build_model(cfg_kw, untied, gen)
    ids, mask, labels = make_batch(model.config, gen, src, tgt)
    save_checkpoint(model, cfg_kw, untied, out_dir)
    if not untied:
        again = transformers.T5ForConditionalGeneration.from_pretrained(out_dir, attn_implementation="eager").eval()
        with torch.no_grad():
            if not torch.equal(run(again, ids, mask, labels)[1].logits, run(model, ids, mask, labels)[1].logits):
                raise RuntimeError(name + ": reloaded checkpoint gives different logits")

    model.zero_grad()
    enc, out = run(model, ids, mask, labels)
    enc.retain_grad()
    out.loss.backward()
    io = {"input_ids": ids, "attention_mask": mask, "labels": labels,
          "decoder_input_ids": model._shift_right(labels),
          "encoder_last_hidden_state": enc.detach().contiguous(),
          "logits": out.logits.detach().contiguous(), "loss": out.loss.detach().reshape(1)}
    # the bucket function at this config and at the real T5's (32 buckets up to 128), both directions
    rel = torch.arange(-300, 301, dtype=torch.int64)
    bucket = transformers.models.t5.modeling_t5.T5Attention._relative_position_bucket
    io["relative_position"] = rel
    for nb, md in ((cfg_kw["relative_attention_num_buckets"], cfg_kw["relative_attention_max_distance"]), (32, 128)):
        for bidir in (True, False):
            key = f"bucket_{'bidirectional' if bidir else 'causal'}_{nb}_{md}"
            io[key] = bucket(rel, bidirectional=bidir, num_buckets=nb, max_distance=md)
    save_file({k: v.contiguous() for k, v in io.items()}, os.path.join(out_dir, "io.safetensors"))
    grads = {"d_encoder_last_hidden_state": enc.grad.detach().contiguous()}
    for n, p in model.named_parameters():
        grads[n] = (p.grad if p.grad is not None else torch.zeros_like(p)).detach().contiguous()
    save_file(grads, os.path.join(out_dir, "grads.safetensors"))

    # STEPS AdamW steps on the same batch from the same start
    decay = [p for n, p in model.named_parameters() if "layer_norm" not in n]
    no_decay = [p for n, p in model.named_parameters() if "layer_norm" in n]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": WEIGHT_DECAY},
                             {"params": no_decay, "weight_decay": 0.0}], lr=LR)
    losses = []
    for _ in range(STEPS):
        opt.zero_grad()
        loss = run(model, ids, mask, labels)[1].loss
        loss.backward()
        losses.append(loss.item())
        opt.step()

    meta = versions()
    meta.update({"script": "tools/oracle_t5.py", "seed": SEED, "model_class": "T5ForConditionalGeneration",
                 "attn_implementation": "eager", "dtype": "float32", "mode": "eval (no dropout)",
                 "untied_lm_head": untied, "config": cfg_kw,
                 "init": "normal: shared, lm_head and relative_attention_bias std 1, other matrices std 0.2; "
                         "layer norms 1 + 0.1 N(0,1)",
                 "batch": src[0], "source_len": src[1], "source_lengths": src[2],
                 "target_len": tgt[0], "target_lengths": tgt[1],
                 "optimizer": {"name": "adamw", "lr": LR, "weight_decay": WEIGHT_DECAY,
                               "no_decay": "layer_norm weights", "betas": [0.9, 0.999], "eps": 1e-8},
                 "steps": STEPS, "loss": losses})
    with open(os.path.join(out_dir, "meta.json"), "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    print(name, "params", sum(p.numel() for p in model.parameters()), "bytes", dir_size(out_dir),
          "loss", losses[0], "->", losses[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    torch.set_num_threads(1)
    for name in CASES:
        build_case(name, args.out)


if __name__ == "__main__":
    main()
