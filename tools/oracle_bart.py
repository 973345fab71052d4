"""Writes tests/fixtures/seq2seq/bart_<case>/: the oracle of the BART family
(transformers' BartForConditionalGeneration, model_type "bart"), fp32, eager
attention, eval mode, every dropout 0.

Each case is a tiny randomly initialised checkpoint (config.json +
model.safetensors as save_pretrained writes them; final_logits_bias, a buffer,
set to random values so that it shows) and
  io.safetensors    a padded batch: input_ids, attention_mask (B, Ts), labels
                    (B, Tt; -100 past each target's length; the pad id once as
                    a real source token and once as a target),
                    decoder_input_ids = shift_tokens_right(labels) as the model
                    makes them, encoder_last_hidden_state (B, Ts, C), logits
                    (B, Tt, V), loss (1): transformers' mean cross-entropy over
                    the labels that are not -100;
  grads.safetensors the gradient of that loss of every parameter, under
                    BartForConditionalGeneration's names (model.shared.weight
                    once: the encoder's and decoder's embeddings and the LM head);
  train.safetensors S batches (S, B, T) of the same shapes: input_ids,
                    attention_mask, labels;
  meta.json         versions, shapes, and S steps of torch.optim.AdamW (lr,
                    weight_decay on every weight but biases and LayerNorms:
                    the names it decays listed under optimizer.decay) on
                    train.safetensors' batches from the checkpoint's weights:
                    the loss of each step before its update ("loss").
Weights are drawn wider than BART's init (normal std 0.2, LayerNorm weights
1 +- 0.1, biases 0.1 N(0,1)) so a wrong op shows.

usage: oracle_bart.py --out tests/fixtures/seq2seq
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
from oracle_pifi import dir_size, versions  # noqa: E402

SEED = 2210
STEPS = 10
LR = 3e-3
WEIGHT_DECAY = 0.01


def config(**kw):
    base = dict(vocab_size=96, d_model=16, encoder_layers=2, decoder_layers=2, encoder_attention_heads=4,
                decoder_attention_heads=4, encoder_ffn_dim=32, decoder_ffn_dim=24, activation_function="gelu",
                max_position_embeddings=32, dropout=0.0, attention_dropout=0.0, activation_dropout=0.0,
                scale_embedding=True, pad_token_id=1, bos_token_id=0, eos_token_id=2, decoder_start_token_id=2)
    base.update(kw)
    return transformers.BartConfig(**base)


# name: (config, (B, Ts, source lengths), (Tt, target lengths))
CASES = {
    # 2 + 2 layers, 4 heads of 4, exact GELU, embeddings scaled by sqrt(16)
    "bart_gelu": (config(), (3, 9, [9, 6, 4]), (7, [7, 5, 3])),
    # 3 + 1 layers, 2 heads of 12, ReLU, no scaling, other special ids (pad 3, decoder start 5)
    "bart_relu": (config(vocab_size=80, d_model=24, encoder_layers=3, decoder_layers=1, encoder_attention_heads=2,
                         decoder_attention_heads=2, encoder_ffn_dim=40, decoder_ffn_dim=48,
                         activation_function="relu", scale_embedding=False, pad_token_id=3,
                         decoder_start_token_id=5, max_position_embeddings=20),
                  (2, 11, [11, 7]), (8, [6, 8])),
    # the small end: 1 + 1 layers, one head of 8, SiLU, sources of 3 and 1 tokens, one target token,
    # real configs' dropout (0.1: eval mode leaves it off)
    "bart_one": (config(vocab_size=40, d_model=8, encoder_layers=1, decoder_layers=1, encoder_attention_heads=1,
                        decoder_attention_heads=1, encoder_ffn_dim=12, decoder_ffn_dim=4, activation_function="silu",
                        max_position_embeddings=8, dropout=0.1, attention_dropout=0.1, activation_dropout=0.1),
                 (2, 3, [3, 1]), (1, [1, 1])),
}


def init_weights(model, gen):
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=gen)
            if "layer_norm.weight" in name or "layernorm_embedding.weight" in name:
                p.copy_(1.0 + 0.1 * noise)
            elif name.endswith(".bias"):
                p.copy_(0.1 * noise)
            else:
                p.copy_(0.2 * noise)
        model.final_logits_bias.copy_(0.1 * torch.randn(model.final_logits_bias.shape, generator=gen))


def make_batch(cfg, gen, src, tgt):
    B, Ts, slens = src
    Tt, tlens = tgt
    ids = torch.full((B, Ts), cfg.pad_token_id, dtype=torch.int64)
    mask = torch.zeros((B, Ts), dtype=torch.int64)
    labels = torch.full((B, Tt), -100, dtype=torch.int64)
    for b in range(B):
        ids[b, :slens[b]] = torch.randint(6, cfg.vocab_size, (slens[b],), generator=gen)
        mask[b, :slens[b]] = 1
        labels[b, :tlens[b]] = torch.randint(6, cfg.vocab_size, (tlens[b],), generator=gen)
    # the pad id as a real source token and as a target (labels padded with pad, not -100): its
    # embedding row then gets gradient from the LM head alone (nn.Embedding's padding_idx)
    if Ts > 2 and Tt > 3:
        ids[0, 2] = cfg.pad_token_id
        labels[0, 3] = cfg.pad_token_id
    return ids, mask, labels


def decay_of(name):
    return not (name.endswith(".bias") or "layer_norm" in name or "layernorm" in name)


def build(name, cfg, src, tgt, out_dir):
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED + sum(map(ord, name)))
    cfg._attn_implementation = "eager"
    model = transformers.BartForConditionalGeneration(cfg)
    init_weights(model, gen)
    model.eval()
    ids, mask, labels = make_batch(cfg, gen, src, tgt)
    kw = {"input_ids": ids, "attention_mask": mask, "labels": labels}
    out = model(**kw)
    model.save_pretrained(out_dir, safe_serialization=True)
    again = transformers.BartForConditionalGeneration.from_pretrained(out_dir, attn_implementation="eager").eval()
    with torch.no_grad():
        if not torch.equal(again(**kw).logits, out.logits):
            raise RuntimeError(name + ": reloaded checkpoint gives different logits")
    dec_ids = transformers.models.bart.modeling_bart.shift_tokens_right(labels, cfg.pad_token_id,
                                                                         cfg.decoder_start_token_id)
    io = {"input_ids": ids, "attention_mask": mask, "labels": labels, "decoder_input_ids": dec_ids,
          "encoder_last_hidden_state": out.encoder_last_hidden_state.detach().contiguous(),
          "logits": out.logits.detach().contiguous(), "loss": out.loss.detach().reshape(1)}
    save_file(io, os.path.join(out_dir, "io.safetensors"))

    model.zero_grad()
    out.loss.backward()
    grads = {n: (p.grad if p.grad is not None else torch.zeros_like(p)).detach().contiguous()
             for n, p in model.named_parameters()}
    save_file(grads, os.path.join(out_dir, "grads.safetensors"))

    # S AdamW steps on S fresh batches, from the checkpoint's weights
    batches = [make_batch(cfg, gen, src, tgt) for _ in range(STEPS)]
    model = transformers.BartForConditionalGeneration.from_pretrained(out_dir, attn_implementation="eager").eval()
    params = list(model.named_parameters())
    opt = torch.optim.AdamW([{"params": [p for n, p in params if decay_of(n)], "weight_decay": WEIGHT_DECAY},
                             {"params": [p for n, p in params if not decay_of(n)], "weight_decay": 0.0}],
                            lr=LR, betas=(0.9, 0.999), eps=1e-8)
    losses = []
    for i, l, y in batches:
        opt.zero_grad()
        loss = model(input_ids=i, attention_mask=l, labels=y).loss
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    save_file({"input_ids": torch.stack([b[0] for b in batches]), "attention_mask": torch.stack([b[1] for b in batches]),
               "labels": torch.stack([b[2] for b in batches])}, os.path.join(out_dir, "train.safetensors"))

    meta = versions()
    meta.update({"script": "tools/oracle_bart.py", "seed": SEED, "model_class": "BartForConditionalGeneration",
                 "attn_implementation": "eager", "dtype": "float32", "mode": "eval, every dropout 0",
                 "init": "normal std 0.2; LayerNorm weight 1 + 0.1 N(0,1); biases and final_logits_bias 0.1 N(0,1)",
                 "batch": src[0], "source_len": src[1], "source_lengths": src[2], "target_len": tgt[0],
                 "target_lengths": tgt[1], "parameters": len(grads),
                 "optimizer": {"name": "adamw", "lr": LR, "betas": [0.9, 0.999], "eps": 1e-8,
                               "weight_decay": WEIGHT_DECAY,
                               "no_decay": "biases, layer_norm and layernorm_embedding tensors",
                               "decay": [n for n, _ in params if decay_of(n)]},
                 "steps": STEPS, "loss": losses})
    with open(os.path.join(out_dir, "meta.json"), "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    print(name, "params", sum(p.numel() for p in model.parameters()), "loss", f"{losses[0]:.5f} -> {losses[-1]:.5f}",
          "bytes", dir_size(out_dir))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    for name, (cfg, src, tgt) in CASES.items():
        d = os.path.join(args.out, name)
        if os.path.isdir(d):
            shutil.rmtree(d)
        os.makedirs(d)
        build(name, cfg, src, tgt, d)


if __name__ == "__main__":
    main()
