"""Writes tests/fixtures/decoders/<name>/: a tiny randomly initialised
decoder-only model (LlamaModel or Qwen2Model: config.json + model.safetensors
as transformers saves them) and io.safetensors with a right-padded batch and
the fp32 eager-attention outputs of transformers, the reference of pifi's
decoder family (the SLM of the paper's appendix B.2):

  input_ids, attention_mask (B, T)      right padding, pad id 0 (never a real token)
  last_hidden_state (B, T, C)           AutoModel's output: the final RMSNorm's
  dout (B, T, C)                        N(0, 1), zero at padded positions
  grad.<name>                           d sum(last_hidden_state * dout) / d parameter,
                                        every parameter under its checkpoint name
  lora.<peft name>                      rank-4 adapters (alpha 8) on every layer's
                                        q_proj and v_proj, A and B N(0, 0.1)
  lora_hidden (B, T, C)                 last_hidden_state with them
  lora_grad.<peft name>                 the adapters' gradients of sum(lora_hidden * dout)

Weights are drawn with a larger spread than the default init (normal std
0.2, RMSNorm weights 1 +- 0.1) so a wrong op shows in the output.

usage: oracle_decoder.py --out tests/fixtures/decoders [--only NAME ...]
"""

import argparse
import json
import os
import platform
import shutil

import torch
import transformers
from safetensors.torch import save_file

SEED = 8642
LORA_R, LORA_ALPHA = 4, 8


def specs():
    """name: (model class, config, (B, T, lengths))"""
    return {
        "llama_tiny": (transformers.LlamaModel, transformers.LlamaConfig(
            vocab_size=96, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=2, intermediate_size=48, rms_norm_eps=1e-6, rope_theta=10000.0,
            max_position_embeddings=64, pad_token_id=0, bos_token_id=1, eos_token_id=2,
            tie_word_embeddings=False), (3, 7, [7, 4, 2])),
        "llama_wide": (transformers.LlamaModel, transformers.LlamaConfig(
            vocab_size=64, hidden_size=32, num_hidden_layers=3, num_attention_heads=8,
            num_key_value_heads=8, intermediate_size=40, rms_norm_eps=1e-5, rope_theta=500.0,
            max_position_embeddings=64, pad_token_id=0, bos_token_id=1, eos_token_id=2,
            tie_word_embeddings=True), (2, 9, [5, 9])),
        "qwen2_tiny": (transformers.Qwen2Model, transformers.Qwen2Config(
            vocab_size=100, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=1, intermediate_size=40, rms_norm_eps=1e-6, rope_theta=1000000.0,
            max_position_embeddings=64, pad_token_id=0, bos_token_id=1, eos_token_id=2,
            tie_word_embeddings=True, use_sliding_window=False), (3, 6, [3, 6, 1])),
    }


def versions():
    return {"python": platform.python_version(), "torch": torch.__version__,
            "transformers": transformers.__version__}


def init_weights(model, gen):
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=gen)
            p.copy_(1.0 + 0.1 * noise if name.endswith("norm.weight") else 0.2 * noise)


def make_inputs(cfg, gen, shape):
    B, T, lengths = shape
    ids = torch.full((B, T), cfg.pad_token_id, dtype=torch.int64)
    mask = torch.zeros((B, T), dtype=torch.int64)
    for b, n in enumerate(lengths):
        ids[b, :n] = torch.randint(3, cfg.vocab_size, (n,), generator=gen)  # never the pad id
        mask[b, :n] = 1
    return ids, mask


class Lora(torch.nn.Module):
    """PEFT's LoRA around a Linear (no dropout): base(x) + alpha/r B(A(x))."""

    def __init__(self, base, gen):
        super().__init__()
        self.base_layer = base
        self.lora_A = torch.nn.Linear(base.in_features, LORA_R, bias=False)
        self.lora_B = torch.nn.Linear(LORA_R, base.out_features, bias=False)
        with torch.no_grad():
            for w in (self.lora_A.weight, self.lora_B.weight):
                w.copy_(0.1 * torch.randn(w.shape, generator=gen))

    def forward(self, x):
        return self.base_layer(x) + LORA_ALPHA / LORA_R * self.lora_B(self.lora_A(x))


def build_one(name, cls, cfg, shape, out_dir):
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED + sum(map(ord, name)))
    cfg._attn_implementation = "eager"
    model = cls(cfg)
    init_weights(model, gen)
    model.eval()
    ids, mask = make_inputs(cfg, gen, shape)
    h = model(input_ids=ids, attention_mask=mask).last_hidden_state
    dout = torch.randn(h.shape, generator=gen) * mask[:, :, None]
    (h * dout).sum().backward()
    io = {"input_ids": ids, "attention_mask": mask, "last_hidden_state": h.detach(), "dout": dout}
    for n, p in model.named_parameters():
        io["grad." + n] = p.grad if p.grad is not None else torch.zeros_like(p)
    model.save_pretrained(out_dir)
    again = cls.from_pretrained(out_dir, attn_implementation="eager").eval()
    with torch.no_grad():
        if not torch.equal(again(input_ids=ids, attention_mask=mask).last_hidden_state, h):
            raise RuntimeError(name + ": reloaded checkpoint gives different outputs")

    # LoRA on q_proj and v_proj of every layer, the base frozen
    model.zero_grad()
    for p in model.parameters():
        p.requires_grad_(False)
    for layer in model.layers:
        att = layer.self_attn
        att.q_proj = Lora(att.q_proj, gen)
        att.v_proj = Lora(att.v_proj, gen)
    hl = model(input_ids=ids, attention_mask=mask).last_hidden_state
    (hl * dout).sum().backward()
    io["lora_hidden"] = hl.detach()
    for n, p in model.named_parameters():
        if ".lora_" in n:
            io["lora." + n] = p.detach()
            io["lora_grad." + n] = p.grad
    save_file({k: v.float().contiguous() for k, v in io.items()}, os.path.join(out_dir, "io.safetensors"))

    meta = versions()
    meta.update({"script": "tools/oracle_decoder.py", "seed": SEED, "model_class": cls.__name__,
                 "attn_implementation": "eager", "dtype": "float32",
                 "init": "normal std 0.2; RMSNorm weights 1 + 0.1 N(0,1)",
                 "batch": shape[0], "seq_len": shape[1], "lengths": shape[2],
                 "lora": {"r": LORA_R, "alpha": LORA_ALPHA, "targets": "q_proj, v_proj", "dropout": 0},
                 "abs_max_last_hidden_state": float(h.detach().abs().max())})
    with open(os.path.join(out_dir, "meta.json"), "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    size = sum(os.path.getsize(os.path.join(out_dir, f)) for f in os.listdir(out_dir))
    print(name, "params", sum(p.numel() for p in model.parameters()), "bytes", size)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--only", nargs="*", help="write only these fixtures")
    args = ap.parse_args()
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    for name, (cls, cfg, shape) in specs().items():
        if args.only and name not in args.only:
            continue
        d = os.path.join(args.out, name)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        build_one(name, cls, cfg, shape, d)


if __name__ == "__main__":
    main()
