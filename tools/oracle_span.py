"""Writes tests/fixtures/span/<case>/: the PyTorch reference for the span mode
of PiFi (extractive question answering, issue 23): start/end logits, the loss
and every trainable tensor's gradient on one padded batch. Models are the tiny
ones of tests/fixtures/pifi/<arch>/ (named by relative path), built and wrapped
with LoRA exactly as tools/oracle_train.py does; the new tensors (L_in, L_out,
the span head, LoRA's A and B) are drawn here and written out.

  h = BertModel(x).last_hidden_state                                 (B, T, C)
  base, lora: v = h
  pifi:       v = L_out(layer(L_in(h), positions 0..T-1, mask))      (last LLM layer)
  logits = qa(v)  (qa = Linear(C, 2): head.out)                      (B, T, 2)
  loss = (CE(start) + CE(end)) / 2, mean over the batch, each softmax over the
         row's real tokens (padded positions' logits set to -inf first)

The layer's mask: the key padding mask as a bidirectional mask (the default),
or causal + padding (pifi_causal), or none at all (pifi_ones: the authors'
code, which overwrites the padding mask with ones). Every dropout off, fp32.
Self-check: the fp32 gradients against float64 autograd of the same model.

usage: oracle_span.py --out tests/fixtures/span
"""

import argparse
import copy
import json
import os
import sys

import torch
from safetensors.torch import save_file
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from oracle_pifi import build_mask, call_layer, versions  # noqa: E402
from oracle_train import build, rmsnorm_in_input_dtype  # noqa: E402

SEED = 20251201
B, T = 3, 12
LENGTHS = [12, 9, 5]       # real tokens per row; the rest is right padding
SPANS = [(3, 6), (0, 0), (2, 4)]   # (start, end) per row; (0, 0): no answer, the CLS token
HEAD_STD = 0.2

CASES = {   # name: (method, arch, causal, mask ones)
    "base": ("base", None, False, False),
    "pifi_llama": ("pifi", "llama", False, False),
    "pifi_llama_causal": ("pifi", "llama", True, False),
    "pifi_llama_ones": ("pifi", "llama", False, True),
    "pifi_qwen2": ("pifi", "qwen2", False, False),
    "pifi_unfrozen_llama": ("pifi_unfrozen", "llama", False, False),
    "lora": ("lora", None, False, False),
}


class Span(nn.Module):
    """The classifier of oracle_train.build with its head replaced by qa."""

    def __init__(self, cls, causal, ones):
        super().__init__()
        self.slm, self.lm = cls.slm, cls.lm
        self.l_in, self.l_out = cls.heads.l_in, cls.heads.l_out
        self.qa = nn.Linear(self.l_out.out_features, 2)
        self.causal, self.ones = causal, ones

    def forward(self, ids, mask, types):
        h = self.slm(input_ids=ids, attention_mask=mask, token_type_ids=types).last_hidden_state
        v = h
        if self.lm is not None:
            x = self.l_in(h)
            pos = torch.arange(x.shape[1]).unsqueeze(0)
            m2 = torch.ones_like(mask) if self.ones else mask
            m4 = build_mask(self.lm.config, "causal" if self.causal else "bidir", x, m2, pos)
            v = self.l_out(call_layer(self.lm, self.lm.model.layers[-1], x, m4, pos))
        return self.qa(v)


def span_loss(logits, mask, start, end):
    z = logits.masked_fill(~mask.bool()[:, :, None], float("-inf"))
    ce = nn.functional.cross_entropy
    return (ce(z[:, :, 0], start) + ce(z[:, :, 1], end)) / 2


def make_inputs():
    gen = torch.Generator().manual_seed(SEED)
    ids = torch.zeros((B, T), dtype=torch.int64)
    mask = torch.zeros((B, T), dtype=torch.int64)
    types = torch.zeros((B, T), dtype=torch.int64)
    for b, n in enumerate(LENGTHS):
        ids[b, :n] = torch.randint(5, 1000, (n,), generator=gen)    # never the pad id 0
        mask[b, :n] = 1
        types[b, n // 2:n] = 1                                     # question, then context
    start = torch.tensor([s for s, _ in SPANS])
    end = torch.tensor([e for _, e in SPANS])
    return ids, mask, types, start, end


def trainable(method, name):
    if name.startswith(("l_in.", "l_out.")):
        return method not in ("base", "lora")
    if name.startswith("qa."):
        return True
    if name.startswith("llm."):
        return method == "pifi_unfrozen"
    if ".lora_" in name:
        return True
    return method != "lora"


def named(model):
    """Every parameter under its fixture name (README span/<case>/)."""
    out = {}
    for n, p in model.slm.named_parameters():
        out[n.replace(".base_layer.", ".")] = p
    out["l_in.weight"], out["l_out.weight"] = model.l_in.weight, model.l_out.weight
    out["head.out.weight"], out["head.out.bias"] = model.qa.weight, model.qa.bias
    if model.lm is not None:
        last = f"model.layers.{len(model.lm.model.layers) - 1}."
        for n, p in model.lm.named_parameters():
            if n.startswith(last):
                out["llm." + n] = p
    return out


def run_case(name, out_root, inputs):
    method, arch, causal, ones = CASES[name]
    cls, _ = build(method, arch)
    model = Span(cls, causal, ones).eval()
    gen = torch.Generator().manual_seed(SEED + 1)
    with torch.no_grad():
        model.qa.weight.copy_(HEAD_STD * torch.randn(model.qa.weight.shape, generator=gen))
        model.qa.bias.copy_(0.1 * torch.randn(2, generator=gen))
        if model.lm is not None:
            for w in (model.l_in.weight, model.l_out.weight):
                w.copy_(HEAD_STD * torch.randn(w.shape, generator=gen))
    names = named(model)
    train = [n for n in names if trainable(method, n)]
    for n, p in names.items():
        p.requires_grad_(n in train)
    ids, mask, types, start, end = inputs
    logits = model(ids, mask, types)
    loss = span_loss(logits, mask, start, end)
    loss.backward()
    grads = {n: names[n].grad.detach().clone().contiguous() for n in train}

    m64 = rmsnorm_in_input_dtype(copy.deepcopy(model).double())
    n64 = named(m64)
    for p in m64.parameters():
        p.grad = None
    span_loss(m64(ids, mask, types), mask, start, end).backward()
    worst = max(float((n64[n].grad - grads[n].double()).abs().max()
                      / max(float(n64[n].grad.abs().max()), 1e-2)) for n in train)
    if worst > 1e-5:
        raise RuntimeError(f"{name}: fp32 gradients differ from float64 by {worst:.3g} (relative)")

    out_dir = os.path.join(out_root, name)
    os.makedirs(out_dir, exist_ok=True)
    init = {n: names[n].detach().clone().contiguous() for n in names
            if n.startswith(("head.", "l_in.", "l_out.")) or ".lora_" in n}
    if model.lm is None:
        init = {n: v for n, v in init.items() if not n.startswith(("l_in.", "l_out."))}
    save_file(init, os.path.join(out_dir, "init.safetensors"))
    save_file({"logits": logits.detach().contiguous()}, os.path.join(out_dir, "logits.safetensors"))
    save_file(grads, os.path.join(out_dir, "grads.safetensors"))
    meta = {"method": method, "slm": "../../pifi/llama/slm",
            "llm": f"../../pifi/{arch}/llm" if arch else None, "layer": -1,
            "causal": causal, "mask_ones": ones, "loss": float(loss.detach()),
            "trainable": train, "self_check": {"fp32_vs_fp64_grad_rel": worst}}
    with open(os.path.join(out_dir, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
    return meta


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    torch.manual_seed(SEED)
    inputs = make_inputs()
    os.makedirs(args.out, exist_ok=True)
    ids, mask, types, start, end = inputs
    save_file({"input_ids": ids, "attention_mask": mask, "token_type_ids": types,
               "start": start, "end": end}, os.path.join(args.out, "io.safetensors"))
    summary = {n: run_case(n, args.out, inputs)["loss"] for n in CASES}
    with open(os.path.join(args.out, "meta.json"), "w") as f:
        json.dump({"versions": versions(), "seed": SEED, "B": B, "T": T, "lengths": LENGTHS,
                   "spans": SPANS, "loss": summary}, f, indent=1)


if __name__ == "__main__":
    main()
