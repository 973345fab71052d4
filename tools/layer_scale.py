#!/usr/bin/env python3
"""layer_scale.py: what the plugged-in layer does to the CLS vector at the
start of training, measured with transformers (not pifi), for the
reproduction study's conclusions (docs/results.md).

For N SST-2 training sentences: h = all-MiniLM-L6-v2's CLS vector (what
`base`'s head reads), x = L_in h with L_in drawn as pifi and torch draw it
(U(-1/sqrt(384), 1/sqrt(384)), 5 seeds), z = the decoder layer on x as a
sequence of one token at position 0 (transformers' LlamaDecoderLayer with
the GGUF's weights, dequantized by transformers), and L_out z with L_out
drawn the same way: the head's input under PiFi. For each layer source
(SmolLM2-135M-Instruct's last layer, the same shape drawn from N(0, 0.02) as
`pifi-random`, stories260K's last layer) it prints the size of x, of what
the layer adds (z - x), of z, the cosine between z and x, how much of the
added part lies in its largest coordinate, and the head input's size
against `base`'s. It also reads the committed runs' training logs: the mean
loss of the first 10 optimizer steps per method on SST-2 (all seeds).

Writes a markdown fragment (default docs/results/layer-scale.md) that
scripts/results.sh puts into docs/results.md.

Usage: /root/oracle-venv/bin/python tools/layer_scale.py
           [--models models] [--stories ../shared/models/stories260K/stories260K.gguf]
           [--data $PIFI_DATA] [--n 512] [--out docs/results/layer-scale.md]
Needs: torch, transformers, gguf, accelerate (tools/requirements-oracle.txt).
"""
import argparse
import copy
import glob
import json
import math
import os
import statistics

import torch
from transformers import AutoModel, AutoModelForCausalLM, AutoTokenizer

SEEDS = [42, 1004, 2023, 2024, 2025]


def cls_vectors(slm_dir, texts):
    tok = AutoTokenizer.from_pretrained(slm_dir)
    model = AutoModel.from_pretrained(slm_dir).eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(texts), 32):
            enc = tok(texts[i:i + 32], padding=True, truncation=True, max_length=100, return_tensors="pt")
            out.append(model(**enc).last_hidden_state[:, 0])
    return torch.cat(out)


def last_layer(path):
    d, f = os.path.split(os.path.abspath(path))
    model = AutoModelForCausalLM.from_pretrained(d, gguf_file=f, pad_token_id=None, attn_implementation="eager")
    return model.model.layers[-1].eval(), model.model.rotary_emb, model.config


def random_copy(layer, seed):
    """pifi-random: the same layer, Linear weights ~ N(0, 0.02), norms 1 (transformers' _init_weights)."""
    r = copy.deepcopy(layer)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in r.named_parameters():
            if p.dim() == 2:
                p.copy_(torch.randn(p.shape, generator=g) * 0.02)
            elif "norm" in name:
                p.fill_(1.0)
            else:
                p.zero_()
    return r


def uniform_linear(out_f, in_f, seed):
    g = torch.Generator().manual_seed(seed)
    b = 1.0 / math.sqrt(in_f)
    return (torch.rand(out_f, in_f, generator=g) * 2 - 1) * b


def rms(t):
    return t.pow(2).mean(dim=-1).sqrt()  # per vector


def run_layer(layer, rotary, x):
    hs = x[:, None, :]
    pos = torch.zeros(1, 1, dtype=torch.long)
    pe = rotary(hs, pos)
    with torch.no_grad():
        y = layer(hs, attention_mask=None, position_ids=pos, position_embeddings=pe)
    if isinstance(y, tuple):
        y = y[0]
    return y[:, 0]


def measure(h, layer, rotary, hidden, seed):
    w_in = uniform_linear(hidden, h.shape[1], seed)
    w_out = uniform_linear(h.shape[1], hidden, seed + 1)
    x = h @ w_in.T
    z = run_layer(layer, rotary, x)
    add = z - x
    share = (add.pow(2).max(dim=-1).values / add.pow(2).sum(dim=-1)).mean().item()
    head_in = z @ w_out.T
    spread = rms(z - z.mean(dim=0)).mean().item() / rms(z).mean().item()
    return {
        "x": rms(x).mean().item(),
        "add": rms(add).mean().item(),
        "z": rms(z).mean().item(),
        "cos": torch.nn.functional.cosine_similarity(z, x, dim=-1).mean().item(),
        "share": share,
        "spread": spread,
        "head": rms(head_in).mean().item() / rms(h).mean().item(),
    }


def first_steps_loss(runs_dir, task="sst2", steps=10):
    """Mean loss of the first `steps` optimizer steps per method over its seeds (committed train_log.jsonl)."""
    out = {}
    for d in sorted(glob.glob(os.path.join(runs_dir, task, "*", "seed*"))):
        method = os.path.basename(os.path.dirname(d))
        log = os.path.join(d, "train_log.jsonl")
        if not os.path.exists(log):
            continue
        losses = {}
        with open(log) as f:
            for line in f:
                o = json.loads(line)
                if o.get("step", 0) <= steps:
                    losses[o["step"]] = o["loss"]
        if losses:
            out.setdefault(method, []).append(sum(losses.values()) / len(losses))
    return out


def main():
    ap = argparse.ArgumentParser()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    shared = os.path.join(os.path.dirname(root), "shared")
    ap.add_argument("--models", default=os.path.join(root, "models"))
    ap.add_argument("--stories", default=os.path.join(shared, "models/stories260K/stories260K.gguf"))
    ap.add_argument("--data", default=os.environ.get("PIFI_DATA", os.path.join(shared, "data")))
    ap.add_argument("--runs", default=os.path.join(root, "experiments/results/table1/runs"))
    ap.add_argument("--n", type=int, default=512)
    ap.add_argument("--out", default=os.path.join(root, "docs/results/layer-scale.md"))
    a = ap.parse_args()
    torch.set_num_threads(2)

    with open(os.path.join(a.data, "sst2/stsa.binary.train")) as f:
        texts = [line.split(" ", 1)[1].strip() for line in f if line.strip()][: a.n]
    h = cls_vectors(os.path.join(a.models, "all-MiniLM-L6-v2"), texts)

    smol, smol_rot, smol_cfg = last_layer(os.path.join(a.models, "SmolLM2-135M-Instruct.Q4_1.gguf"))
    st, st_rot, st_cfg = last_layer(a.stories)
    sources = [
        ("pifi", "SmolLM2-135M-Instruct, last layer (Q4_1)", lambda s: smol, smol_rot, smol_cfg.hidden_size),
        ("pifi-random", "the same shape, N(0, 0.02)", lambda s: random_copy(smol, s), smol_rot, smol_cfg.hidden_size),
        ("pifi@stories260K", "stories260K, last layer", lambda s: st, st_rot, st_cfg.hidden_size),
    ]
    rows = []
    for label, what, make, rot, hidden in sources:
        ms = [measure(h, make(s), rot, hidden, s) for s in SEEDS]
        rows.append((label, what, hidden, {k: statistics.mean(m[k] for m in ms) for k in ms[0]}))
    first = first_steps_loss(a.runs)

    lines = [
        "## What the layer does at the start of training",
        "",
        "Measured by `tools/layer_scale.py` with transformers (not pifi) on the first "
        f"{len(texts)} SST-2 training sentences: h is all-MiniLM-L6-v2's CLS vector "
        f"(root mean square {rms(h).mean().item():.3f}; varies, as defined below: "
        f"{rms(h - h.mean(dim=0)).mean().item() / rms(h).mean().item():.3f}), x = L_in h, z the layer's output on x "
        "(one token, position 0), L_in and L_out drawn as at the start of training "
        "(uniform, bound 1/sqrt(fan-in)); means over the sentences and 5 draws. "
        "\"added\" is z - x, what the layer contributes to the residual stream; "
        "\"largest coordinate\" is the share of its squared size in its largest coordinate; "
        "\"varies\" is the size of z's deviation from its mean over the sentences relative to z's size "
        "(the part of z that depends on the sentence); "
        "\"head input\" is the size of L_out z relative to h, which `base`'s head reads instead.",
        "",
        "| layer | source | width | rms x | rms added | rms z | cos(z, x) | largest coordinate | varies | head input / base's |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, what, hidden, m in rows:
        lines.append(f"| {label} | {what} | {hidden} | {m['x']:.3f} | {m['add']:.3f} | {m['z']:.3f} | "
                     f"{m['cos']:.3f} | {m['share']:.3f} | {m['spread']:.3f} | {m['head']:.2f} |")
    if first:
        lines += [
            "",
            "Mean training loss of the first 10 optimizer steps on SST-2 (committed train_log.jsonl, "
            "mean over seeds; an untrained two-class head gives about ln 2 = 0.693):",
            "",
            "| method | seeds | loss, steps 1-10 |",
            "|---|---|---|",
        ]
        order = ["base", "pifi", "pifi-random", "pifi-unfrozen", "lora", "pifi@stories260K"]
        for method in sorted(first, key=lambda k: (order.index(k) if k in order else len(order), k)):
            v = first[method]
            lines.append(f"| {method} | {len(v)} | {statistics.mean(v):.3f} |")
    tmp = a.out + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(tmp, a.out)
    print("wrote", a.out)


if __name__ == "__main__":
    main()
