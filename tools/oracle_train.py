"""Writes tests/fixtures/train/<case>/: the PyTorch reference for training a
PiFi classifier (Kim et al., ACL 2025) and its baselines. The C trainer's
step-0 gradients, its losses over 10 optimizer steps and its final weights must
match these. Models are the tiny ones of tests/fixtures/pifi/<arch>/ (named by
relative path, not copied); the new tensors (L_in, L_out, head, LoRA) are
initialised here and written out, so the C side never re-initialises them.

  h = BertModel(x).last_hidden_state; u = h[:, 0]                  (CLS pooling;
                                         a decoder SLM: its last real token)
  base: v = u
  pifi: v = L_out(layer(L_in(u)[:, None], position 0)[:, 0])       (last LLM layer)
  logits = out(GELU(Dropout(dense(v)))),  loss = CE(label_smoothing 0.05), mean
Every dropout is off (p = 0 and eval mode); fp32.

Cases: base, pifi_{llama,gemma2,qwen2} (layer frozen), pifi_unfrozen_llama
(layer trains), lora (r 8, alpha 16 on BERT query/value, BERT frozen),
base_adamw; and with an MPNet SLM (tests/fixtures/encoders/mpnet_tiny: no
token types, pads id 1, its relative position bias trained with the rest):
base_mpnet, pifi_llama_mpnet, lora_mpnet (on MPNet's q and v); with an ALBERT
SLM (tests/fixtures/encoders/albert_tiny: E 16 -> C 32, one layer's weights run
by its 3 layers): base_albert, pifi_llama_albert, lora_albert (one adapter pair
on the shared query and value, as PEFT wraps them); with a ModernBERT SLM
(tests/fixtures/encoders/modernbert_tiny: pre-norm, RoPE, alternating
global/local attention, GeGLU, pad id 1, no token types): base_modernbert,
pifi_llama_modernbert (no LoRA: PEFT cannot adapt the query and value parts
of its fused Wqkv, and pifi refuses); with a decoder-only SLM
(tests/fixtures/decoders/llama_tiny: LlamaModel, GQA, pooled at the last real
token as pifi's decoder runs are, its tensors under a causal LM's "model."
names): base_decoder, pifi_llama_decoder, lora_decoder (on every layer's
q_proj and v_proj). Adam / AdamW from torch.optim, clip_grad_norm_ 5.0 before each
step. Self-check: float64 central finite differences on a few coordinates of
every trainable tensor against the written (fp32) and fp64 autograd gradients.
Layout: tests/fixtures/README.md, section train/<case>/.

usage: oracle_train.py --out tests/fixtures/train [--only CASE ...]
"""

import argparse
import copy
import json
import os
import shutil
import sys

import torch
import transformers
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from oracle_pifi import Heads, build_mask, call_layer, dir_size, versions  # noqa: E402

SEED = 20250801
S, B, T, K = 10, 4, 12, 3
HP = {"lr": 1e-3, "betas": [0.9, 0.999], "eps": 1e-8, "clip_grad_norm": 5.0,
      "label_smoothing": 0.05}
WEIGHT_DECAY = 0.01
LORA_R, LORA_ALPHA, LORA_STD = 8, 16, 0.1
PIFI_FIX = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures",
                        "pifi")

CHECK_LIMITS = {"fd_vs_fp64_autograd_abs": 1e-7, "fd_vs_fp32_grad_abs": 1e-5,
                "fp64_vs_fp32_grad_abs_all": 1e-5, "reload_init_logits_max_diff": 0.0}

CASES = {   # name: (method, arch, optimizer)
    "base": ("base", None, "adam"),
    "pifi_llama": ("pifi", "llama", "adam"),
    "pifi_gemma2": ("pifi", "gemma2", "adam"),
    "pifi_qwen2": ("pifi", "qwen2", "adam"),
    "pifi_unfrozen_llama": ("pifi_unfrozen", "llama", "adam"),
    "lora": ("lora", None, "adam"),
    "base_adamw": ("base", None, "adamw"),
    "base_mpnet": ("base", None, "adam"),
    "pifi_llama_mpnet": ("pifi", "llama", "adam"),
    "lora_mpnet": ("lora", None, "adam"),
    "base_albert": ("base", None, "adam"),
    "pifi_llama_albert": ("pifi", "llama", "adam"),
    "lora_albert": ("lora", None, "adam"),
    "base_modernbert": ("base", None, "adam"),
    "pifi_llama_modernbert": ("pifi", "llama", "adam"),
    "base_decoder": ("base", None, "adam"),
    "pifi_llama_decoder": ("pifi", "llama", "adam"),
    "lora_decoder": ("lora", None, "adam"),
}
# the SLM of each case: BERT (pifi/llama/slm) unless named here
SLM_OF_CASE = {"base_mpnet": "mpnet", "pifi_llama_mpnet": "mpnet", "lora_mpnet": "mpnet",
               "base_albert": "albert", "pifi_llama_albert": "albert", "lora_albert": "albert",
               "base_modernbert": "modernbert", "pifi_llama_modernbert": "modernbert",
               "base_decoder": "decoder", "pifi_llama_decoder": "decoder", "lora_decoder": "decoder"}
ENC_FIX = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures",
                       "encoders")
# the model class, checkpoint (relative to a case's folder) and tensor names of each SLM kind
SLM_KINDS = {
    "bert": {"cls": transformers.BertModel, "dir": "../../pifi/llama/slm",
             "layer1": "encoder.layer.1.", "value": "attention.self.value",
             "targets": "attention.self.query and attention.self.value, every layer"},
    "mpnet": {"cls": transformers.MPNetModel, "dir": "../../encoders/mpnet_tiny",
              "layer1": "encoder.layer.1.", "value": "attention.attn.v",
              "targets": "attention.attn.q and attention.attn.v, every layer"},
    "albert": {"cls": transformers.AlbertModel, "dir": "../../encoders/albert_tiny",
               "layer1": "encoder.albert_layer_groups.0.albert_layers.0.", "value": "attention.value",
               "targets": "attention.query and attention.value of the one layer every layer runs"},
    "modernbert": {"cls": transformers.ModernBertModel, "dir": "../../encoders/modernbert_tiny",
                   "layer1": "layers.1.", "value": None, "targets": None},
    # a decoder-only LM as the SLM (tests/fixtures/decoders/llama_tiny: LlamaModel, GQA 4/2),
    # pooled at the last real token; its tensors under a causal LM's names ("model." first),
    # the names pifi's decoder family exports and PEFT gives its adapters
    "decoder": {"cls": transformers.LlamaModel, "dir": "../../decoders/llama_tiny",
                "layer1": "model.layers.1.", "value": "self_attn.v_proj",
                "targets": "self_attn.q_proj and self_attn.v_proj, every layer"},
}
SLM_OUTPUT = {"bert": "output.dense", "mpnet": "output.dense", "albert": "ffn_output", "modernbert": "mlp.Wo",
              "decoder": "mlp.down_proj"}
SLM_EMB_NORM = {"modernbert": "embeddings.norm.weight",
                "decoder": "model.norm.weight"}  # else embeddings.LayerNorm.weight
# the kinds without token types, whose batches put their pad id (1) where the mask is 0
NO_TYPES = ("mpnet", "modernbert", "decoder")
SLM_POOLING = {"decoder": "last"}  # else cls
# from_pretrained's arguments: no pooler, no dropout
SLM_KWARGS = {"modernbert": {"attention_dropout": 0.0, "mlp_dropout": 0.0, "embedding_dropout": 0.0},
              "decoder": {"attention_dropout": 0.0}}
BERT_KWARGS = {"add_pooling_layer": False, "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0}


def slm_dir(slm):
    """The SLM's checkpoint: its "dir" is relative to a case's folder."""
    return os.path.normpath(os.path.join(ENC_FIX, "..", "train", "case", SLM_KINDS[slm]["dir"]))


# ---------------------------------------------------------------- the model

class LoraLinear(nn.Module):
    """PEFT-style LoRA around an existing Linear:
    y = base(x) + (alpha / r) * lora_B(lora_A(dropout(x)))."""

    def __init__(self, base, r, alpha, gen):
        super().__init__()
        self.base_layer = base
        self.lora_A = nn.Linear(base.in_features, r, bias=False)
        self.lora_B = nn.Linear(r, base.out_features, bias=False)
        self.drop = nn.Dropout(0.1)           # the paper's LoRA dropout; off in eval
        self.scale = alpha / r
        with torch.no_grad():                  # B random too, so A's gradient is nonzero
            for w in (self.lora_A.weight, self.lora_B.weight):
                w.copy_(LORA_STD * torch.randn(w.shape, generator=gen))

    def forward(self, x):
        return self.base_layer(x) + self.scale * self.lora_B(self.lora_A(self.drop(x)))


class Classifier(nn.Module):
    """BERT (CLS) -> [L_in -> frozen/unfrozen LLM layer -> L_out] -> head."""

    def __init__(self, slm, heads, lm=None):
        super().__init__()
        self.slm, self.heads, self.lm = slm, heads, lm

    def forward(self, ids, mask, types):
        decoder = isinstance(self.slm, transformers.LlamaModel)
        no_types = decoder or isinstance(self.slm, (transformers.MPNetModel, transformers.ModernBertModel))
        kw = {} if no_types else {"token_type_ids": types}
        h = self.slm(input_ids=ids, attention_mask=mask, **kw).last_hidden_state
        if decoder:                          # the last real token (right padding)
            v = h[torch.arange(h.shape[0]), mask.sum(1) - 1]
        else:
            v = h[:, 0]
        if self.lm is not None:
            x = self.heads.l_in(v)[:, None, :]                        # (B, 1, d_llm)
            pos = torch.zeros((1, 1), dtype=torch.int64)
            m = build_mask(self.lm.config, "causal", x,
                           torch.ones((x.shape[0], 1), dtype=torch.int64), pos)
            z = call_layer(self.lm, self.lm.model.layers[-1], x, m, pos)
            v = self.heads.l_out(z[:, 0])
        return self.heads.head(v)                                      # (B, K)

    def named_tensors(self):
        """Every parameter under its fixture name (see README train/<case>/)."""
        out = {}
        first = "model." if isinstance(self.slm, transformers.LlamaModel) else ""
        for n, p in self.slm.named_parameters():
            out[first + n.replace(".base_layer.", ".")] = p
        for n, p in self.heads.named_parameters():
            out[n] = p
        if self.lm is not None:
            last = f"model.layers.{len(self.lm.model.layers) - 1}."
            for n, p in self.lm.named_parameters():
                if n.startswith(last):
                    out["llm." + n] = p
        return out


def build(method, arch, slm_kind="bert"):
    """The model of one case with requires_grad set; returns (model, trainable names)."""
    cls = SLM_KINDS[slm_kind]["cls"]
    slm = cls.from_pretrained(
        slm_dir(slm_kind), attn_implementation="eager",
        **SLM_KWARGS.get(slm_kind, BERT_KWARGS))
    lm = None
    if arch is not None:
        lm = transformers.AutoModelForCausalLM.from_pretrained(
            os.path.join(PIFI_FIX, arch, "llm"), attn_implementation="eager",
            attention_dropout=0.0)
    torch.manual_seed(SEED)                    # torch's default nn.Linear init
    heads = Heads(64)
    if method == "lora":
        gen = torch.Generator().manual_seed(SEED + 1)
        # ALBERT: its one layer, run by every layer, is wrapped once
        layers = slm.encoder.albert_layer_groups[0].albert_layers if slm_kind == "albert" \
            else slm.layers if slm_kind == "decoder" else slm.encoder.layer
        for layer in layers:
            if slm_kind == "decoder":
                att = layer.self_attn
                att.q_proj = LoraLinear(att.q_proj, LORA_R, LORA_ALPHA, gen)
                att.v_proj = LoraLinear(att.v_proj, LORA_R, LORA_ALPHA, gen)
            elif slm_kind == "albert":
                att = layer.attention
                att.query = LoraLinear(att.query, LORA_R, LORA_ALPHA, gen)
                att.value = LoraLinear(att.value, LORA_R, LORA_ALPHA, gen)
            elif slm_kind == "mpnet":
                att = layer.attention.attn
                att.q = LoraLinear(att.q, LORA_R, LORA_ALPHA, gen)
                att.v = LoraLinear(att.v, LORA_R, LORA_ALPHA, gen)
            else:
                att = layer.attention.self
                att.query = LoraLinear(att.query, LORA_R, LORA_ALPHA, gen)
                att.value = LoraLinear(att.value, LORA_R, LORA_ALPHA, gen)
    model = Classifier(slm, heads, lm).eval()  # eval: every dropout off, grads still flow
    names = model.named_tensors()
    train = []
    for n, p in names.items():
        if n.startswith(("l_in.", "l_out.")):
            on = method != "base" and method != "lora"
        elif n.startswith("head."):
            on = True
        elif n.startswith("llm."):
            on = method == "pifi_unfrozen"
        elif ".lora_" in n:
            on = True
        else:                                  # BERT
            on = method != "lora"
        p.requires_grad_(on)
        if on:
            train.append(n)
    if lm is not None:                         # the rest of the LLM is never used
        for n, p in lm.named_parameters():
            if "llm." + n not in names:
                p.requires_grad_(False)
    return model, train


def make_batches():
    gen = torch.Generator().manual_seed(SEED + 2)
    ids = torch.zeros((S, B, T), dtype=torch.int64)
    mask = torch.zeros((S, B, T), dtype=torch.int64)
    types = torch.zeros((S, B, T), dtype=torch.int64)
    labels = torch.randint(0, K, (S, B), generator=gen)
    lengths = []
    for s in range(S):
        lens = (torch.randperm(T - 2, generator=gen)[:B] + 3).tolist()   # distinct, 3..T
        lengths.append(lens)
        for b, n in enumerate(lens):
            ids[s, b, :n] = torch.randint(5, 1000, (n,), generator=gen)  # never the pad id 0
            mask[s, b, :n] = 1
            types[s, b, :n] = torch.randint(0, 2, (n,), generator=gen)
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types,
            "labels": labels}, lengths


def make_optimizer(kind, names, train):
    params = [names[n] for n in train]
    betas = tuple(HP["betas"])
    if kind == "adam":
        return torch.optim.Adam(params, lr=HP["lr"], betas=betas, eps=HP["eps"],
                                foreach=False), None
    no_decay = [n for n in train if n.endswith(".bias") or "LayerNorm.weight" in n]
    decay = [n for n in train if n not in no_decay]
    groups = [{"params": [names[n] for n in decay], "weight_decay": WEIGHT_DECAY},
              {"params": [names[n] for n in no_decay], "weight_decay": 0.0}]
    opt = torch.optim.AdamW(groups, lr=HP["lr"], betas=betas, eps=HP["eps"], foreach=False)
    return opt, {"decay": decay, "no_decay": no_decay}


# ---------------------------------------------------------------- self-check

def rmsnorm_in_input_dtype(model):
    """transformers' RMSNorms compute in float32 whatever the input dtype, which
    would put float32 noise into float64 finite differences; swap in the same
    formula in the input's dtype (identical for float32 input)."""
    for mod in model.modules():
        name = type(mod).__name__
        if not name.endswith("RMSNorm"):
            continue
        gemma = name.startswith("Gemma")
        eps = mod.eps if gemma else mod.variance_epsilon

        def fwd(x, mod=mod, eps=eps, gemma=gemma):
            n = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)
            return n * (1.0 + mod.weight) if gemma else mod.weight * n
        mod.forward = fwd
    return model


def llama_float64_softmax():
    """Llama's eager attention takes its softmax in float32 whatever the input
    dtype; float64 inputs (the finite-difference check, the float64
    trajectory) take it in float64. Float32 ones are untouched."""
    mod = transformers.models.llama.modeling_llama
    orig = mod.eager_attention_forward

    def eager(module, query, key, value, attention_mask, scaling, dropout=0.0, **kwargs):
        if query.dtype != torch.float64:
            return orig(module, query, key, value, attention_mask, scaling, dropout, **kwargs)
        k = mod.repeat_kv(key, module.num_key_value_groups)
        v = mod.repeat_kv(value, module.num_key_value_groups)
        w = torch.matmul(query, k.transpose(2, 3)) * scaling
        if attention_mask is not None:
            w = w + attention_mask
        w = nn.functional.softmax(w, dim=-1)
        w = nn.functional.dropout(w, p=dropout, training=module.training)
        return torch.matmul(w, v).transpose(1, 2).contiguous(), w
    mod.eager_attention_forward = eager


def modernbert_float64_softmax():
    """ModernBERT's eager attention takes its softmax (and RoPE) in float32
    whatever the input dtype: in float64 the mask's minimum becomes -inf there, a padded
    query whose window holds no real key gets NaN, and NaN reaches every
    output through 0 * NaN. Float64 inputs take the softmax in float64
    (float32 ones are untouched: the written fixtures do not change)."""
    mod = transformers.models.modernbert.modeling_modernbert
    orig = mod.eager_attention_forward

    def eager(module, query, key, value, attention_mask, scaling, dropout=0.0, **kwargs):
        if query.dtype != torch.float64:
            return orig(module, query, key, value, attention_mask, scaling, dropout, **kwargs)
        w = torch.matmul(query, key.transpose(2, 3)) * scaling
        if attention_mask is not None:
            w = w + attention_mask
        w = nn.functional.softmax(w, dim=-1)
        w = nn.functional.dropout(w, p=dropout, training=module.training)
        return torch.matmul(w, value).transpose(1, 2).contiguous(), w
    mod.eager_attention_forward = eager
    # RoPE likewise rounds q and k to float32 (q.float()): float64 keeps float64
    rope = mod.apply_rotary_pos_emb

    def rotary(q, k, cos, sin, unsqueeze_dim=1):
        if q.dtype != torch.float64:
            return rope(q, k, cos, sin, unsqueeze_dim=unsqueeze_dim)
        cos, sin = cos.unsqueeze(unsqueeze_dim), sin.unsqueeze(unsqueeze_dim)
        return q * cos + mod.rotate_half(q) * sin, k * cos + mod.rotate_half(k) * sin
    mod.apply_rotary_pos_emb = rotary


def fd_check(model, train, batch, grads32, label_smoothing):
    """Central finite differences in float64 on a few coordinates per tensor."""
    ids, mask, types, labels = batch
    with torch.no_grad():
        patch_diff = float((rmsnorm_in_input_dtype(copy.deepcopy(model))(ids, mask, types)
                            - model(ids, mask, types)).abs().max())
    m64 = rmsnorm_in_input_dtype(copy.deepcopy(model).double())
    names = m64.named_tensors()
    lossf = nn.CrossEntropyLoss(label_smoothing=label_smoothing)

    def loss_at():
        return lossf(m64(ids, mask, types), labels)

    for p in m64.parameters():
        p.grad = None
    loss_at().backward()
    g64 = {n: names[n].grad.detach().clone() for n in train}
    gen = torch.Generator().manual_seed(SEED + 3)
    eps = 1e-6
    worst = {"fd_vs_fp64_autograd_abs": 0.0, "fd_vs_fp32_grad_abs": 0.0,
             "fd_vs_fp32_grad_rel": 0.0, "fp64_vs_fp32_grad_abs_all": 0.0,
             "coordinates": 0, "fd_step": 1e-6,
             "rmsnorm_patch_fp32_logits_max_diff": patch_diff}
    with torch.no_grad():
        for n in train:
            p, g = names[n], g64[n]
            worst["fp64_vs_fp32_grad_abs_all"] = max(
                worst["fp64_vs_fp32_grad_abs_all"], float((g - grads32[n].double()).abs().max()))
            flat = g.abs().flatten()
            picks = flat.topk(min(2, flat.numel())).indices.tolist()
            picks.append(int(torch.randint(0, flat.numel(), (1,), generator=gen)))
            for i in dict.fromkeys(picks):
                pf = p.view(-1)
                old = float(pf[i])
                pf[i] = old + eps
                lp = float(loss_at())
                pf[i] = old - eps
                lm = float(loss_at())
                pf[i] = old
                fd = (lp - lm) / (2 * eps)
                a64, a32 = float(g.view(-1)[i]), float(grads32[n].view(-1)[i])
                worst["fd_vs_fp64_autograd_abs"] = max(worst["fd_vs_fp64_autograd_abs"],
                                                       abs(fd - a64))
                worst["fd_vs_fp32_grad_abs"] = max(worst["fd_vs_fp32_grad_abs"], abs(fd - a32))
                worst["fd_vs_fp32_grad_rel"] = max(worst["fd_vs_fp32_grad_rel"],
                                                   abs(fd - a32) / max(abs(fd), 1e-4))
                worst["coordinates"] += 1
    return worst


# ---------------------------------------------------------------- training

class ManualAdam:
    """The update torch.optim.Adam / AdamW (foreach=False) make, written out:
    the formula README train/<case>/ promises, replayed as a self-check."""

    def __init__(self, params, decay):
        self.params, self.decay, self.t = params, decay, 0
        self.m = [torch.zeros_like(p) for p in params]
        self.v = [torch.zeros_like(p) for p in params]

    @torch.no_grad()
    def step(self):
        lr, (b1, b2), eps = HP["lr"], HP["betas"], HP["eps"]
        self.t += 1
        bc1, bc2 = 1 - b1 ** self.t, 1 - b2 ** self.t
        for p, m, v, wd in zip(self.params, self.m, self.v, self.decay):
            g = p.grad
            if wd:
                p.mul_(1 - lr * wd)
            m.lerp_(g, 1 - b1)
            v.mul_(b2).addcmul_(g, g, value=1 - b2)
            p.addcdiv_(m, (v.sqrt() / bc2 ** 0.5).add_(eps), value=-lr / bc1)


def manual_clip(params, max_norm):
    norm = torch.linalg.vector_norm(
        torch.stack([torch.linalg.vector_norm(p.grad) for p in params]))
    coef = min(1.0, max_norm / (float(norm) + 1e-6))
    with torch.no_grad():
        for p in params:
            p.grad.mul_(coef)
    return norm


def batch_at(batches, s):
    return (batches["input_ids"][s], batches["attention_mask"][s],
            batches["token_type_ids"][s], batches["labels"][s])


def train_run(model, train, opt_kind, batches, manual):
    """S steps: loss on batch s, backward, clip, optimizer step. Returns the
    per-step losses and norms, step-0 grads/logits/dlogits, a copy of the
    model at step 0 and the groups (AdamW)."""
    names = model.named_tensors()
    params = [names[n] for n in train]
    lossf = nn.CrossEntropyLoss(label_smoothing=HP["label_smoothing"])
    opt, groups = make_optimizer(opt_kind, names, train)
    if manual:
        wd = WEIGHT_DECAY if opt_kind == "adamw" else 0.0
        no_decay = set(groups["no_decay"]) if groups else set()
        opt = ManualAdam(params, [0.0 if n in no_decay else wd for n in train])
    out = {"loss": [], "grad_norm": [], "clipped": [], "groups": groups}
    for s in range(S):
        batch = batch_at(batches, s)
        for p in params:
            p.grad = None
        logits = model(*batch[:3])
        logits.retain_grad()
        loss = lossf(logits, batch[3])
        loss.backward()
        for p in params:         # a tensor autograd never reached (none here) counts as 0
            if p.grad is None:
                p.grad = torch.zeros_like(p)
        if s == 0:
            out["grads"] = {n: names[n].grad.detach().clone().contiguous() for n in train}
            out["step0"] = {"logits": logits.detach().clone().contiguous(),
                            "dlogits": logits.grad.detach().clone().contiguous()}
            out["model0"] = copy.deepcopy(model)
            for p in out["model0"].parameters():
                p.grad = None
        if manual:
            norm = manual_clip(params, HP["clip_grad_norm"])
        else:
            norm = torch.nn.utils.clip_grad_norm_(params, HP["clip_grad_norm"], foreach=False)
        out["loss"].append(float(loss.detach()))
        out["grad_norm"].append(float(norm))
        out["clipped"].append(bool(norm > HP["clip_grad_norm"]))
        opt.step()
    return out


# ---------------------------------------------------------------- one case

def check_names(train, method, arch, slm_kind):
    """Every fixture name of a BERT / LLM tensor is a key of its model.safetensors."""
    slm_keys = set(safe_open_keys(os.path.join(slm_dir(slm_kind), "model.safetensors")))
    if slm_kind == "decoder":                  # LlamaModel's checkpoint: no "model." first
        slm_keys = {"model." + k for k in slm_keys}
    llm_keys = set()
    if arch:
        llm_keys = {"llm." + k for k in
                    safe_open_keys(os.path.join(PIFI_FIX, arch, "llm", "model.safetensors"))}
    for n in train:
        if n.startswith("llm."):
            ok = n in llm_keys
        elif n.startswith(("l_in.", "l_out.", "head.")):
            ok = method != "base" or n.startswith("head.")
        elif ".lora_" in n:
            ok = n.split(".lora_")[0] + ".weight" in slm_keys
        else:
            ok = n in slm_keys
        if not ok:
            raise RuntimeError(f"{n}: not a tensor of the referenced checkpoints")


def safe_open_keys(path):
    with safe_open(path, framework="pt") as f:
        return list(f.keys())


def reload_logits_diff(method, arch, slm_kind, init_path, batches, logits0):
    """A fresh build with init.safetensors loaded gives the written step-0 logits."""
    model, _ = build(method, arch, slm_kind)
    names = model.named_tensors()
    with torch.no_grad():
        for n, v in load_file(init_path).items():
            names[n].copy_(v)
        return float((model(*batch_at(batches, 0)[:3]) - logits0).abs().max())


def decoder_batches(batches, vocab):
    """The same batches for a decoder SLM: ids folded into its vocabulary
    (3..V-1), its pad id (0) where the mask is 0, no token types."""
    out = dict(batches)
    real = batches["input_ids"] % (vocab - 3) + 3
    out["input_ids"] = torch.where(batches["attention_mask"] == 1, real, 0)
    out["token_type_ids"] = torch.zeros_like(batches["token_type_ids"])
    return out


def mpnet_batches(batches):
    """The same batches for an MPNet SLM: its pad id (1) where the mask is 0, no token types."""
    out = dict(batches)
    out["input_ids"] = torch.where(batches["attention_mask"] == 1, batches["input_ids"], 1)
    out["token_type_ids"] = torch.zeros_like(batches["token_type_ids"])
    return out


def run_case(case, method, arch, opt_kind, out_dir, batches, lengths):
    slm_kind = SLM_OF_CASE.get(case, "bert")
    if slm_kind == "decoder":
        with open(os.path.join(slm_dir(slm_kind), "config.json"), encoding="utf-8") as f:
            batches = decoder_batches(batches, json.load(f)["vocab_size"])
    elif slm_kind in NO_TYPES:
        batches = mpnet_batches(batches)
    model, train = build(method, arch, slm_kind)
    check_names(train, method, arch, slm_kind)
    names = model.named_tensors()
    init = {n: names[n].detach().clone().contiguous() for n in names
            if n.startswith(("l_in.", "l_out.", "head.")) or ".lora_" in n}
    if method in ("base", "lora"):
        init = {n: v for n, v in init.items() if not n.startswith(("l_in.", "l_out."))}

    run = train_run(model, train, opt_kind, batches, manual=False)
    losses, norms, clipped, groups = run["loss"], run["grad_norm"], run["clipped"], run["groups"]
    grads, step0 = run["grads"], run["step0"]

    # the same 10 steps with the optimizer and clipping written out by hand
    model_m, _ = build(method, arch, slm_kind)
    run_m = train_run(model_m, train, opt_kind, batches, manual=True)
    names_m = model_m.named_tensors()
    manual = {"loss_max_diff": max(abs(a - b) for a, b in zip(losses, run_m["loss"])),
              "grad_norm_max_diff": max(abs(a - b) for a, b in zip(norms, run_m["grad_norm"])),
              "final_max_diff": max(float((names[n] - names_m[n]).detach().abs().max())
                                    for n in train)}

    final_names = ["head.out.weight"]
    kind = SLM_KINDS[slm_kind]
    layer1, value = kind["layer1"], kind["value"]
    if method == "lora":
        final_names += [f"{layer1}{value}.lora_A.weight", f"{layer1}{value}.lora_B.weight"]
    else:
        final_names += [f"{layer1}{SLM_OUTPUT[slm_kind]}.weight",
                        SLM_EMB_NORM.get(slm_kind, "embeddings.LayerNorm.weight")]
        if slm_kind == "mpnet":
            final_names.append("encoder.relative_attention_bias.weight")
    if method in ("pifi", "pifi_unfrozen"):
        final_names.append("l_in.weight")
    if method == "pifi_unfrozen":
        final_names += ["llm.model.layers.2.mlp.down_proj.weight",
                        "llm.model.layers.2.self_attn.q_proj.weight"]
    final = {n: names[n].detach().clone().contiguous() for n in final_names}

    # the same 10 steps in float64: how far float32 rounding alone moves things
    # (tensors whose true gradient is 0, e.g. BERT's key biases, get +-lr Adam
    # steps from rounding noise and end up anywhere within ~10 lr)
    model_d, _ = build(method, arch, slm_kind)
    model_d = rmsnorm_in_input_dtype(model_d.double())
    run_d = train_run(model_d, train, opt_kind, batches, manual=False)
    names_d = model_d.named_tensors()
    diff_d = {n: float((names[n].double() - names_d[n]).detach().abs().max()) for n in train}
    fp64_traj = {"loss_max_diff": max(abs(a - b) for a, b in zip(losses, run_d["loss"])),
                 "grad_norm_max_diff": max(abs(a - b)
                                           for a, b in zip(norms, run_d["grad_norm"])),
                 "final_tensors_max_diff": {n: diff_d[n] for n in final_names},
                 "tensors_over_1e-4": {n: d for n, d in diff_d.items() if d > 1e-4},
                 "all_tensors_max_diff": diff_d}

    lossf = nn.CrossEntropyLoss(label_smoothing=HP["label_smoothing"])
    loss_init = []             # what the same batches cost before any step
    with torch.no_grad():
        for s in range(S):
            ids, mask, types, labels = batch_at(batches, s)
            loss_init.append(float(lossf(run["model0"](ids, mask, types), labels)))

    tensors_out = dict(grads)
    tensors_out.update(step0)
    save_file(init, os.path.join(out_dir, "init.safetensors"))
    save_file({k: v.contiguous() for k, v in batches.items()},
              os.path.join(out_dir, "batches.safetensors"))
    save_file(tensors_out, os.path.join(out_dir, "grads.safetensors"))
    save_file(final, os.path.join(out_dir, "final.safetensors"))
    with open(os.path.join(out_dir, "losses.json"), "w", encoding="utf-8") as f:
        json.dump({"loss": losses, "loss_initial_weights": loss_init,
                   "grad_norm": norms, "clipped": clipped,
                   "clip_coef": [min(1.0, HP["clip_grad_norm"] / (n + 1e-6)) for n in norms],
                   "final": {"file": "final.safetensors", "tensors": final_names,
                             "after_steps": S}}, f, indent=2)
        f.write("\n")

    check = fd_check(run["model0"], train, batch_at(batches, 0), grads, HP["label_smoothing"])
    check["reload_init_logits_max_diff"] = reload_logits_diff(
        method, arch, slm_kind, os.path.join(out_dir, "init.safetensors"), batches, step0["logits"])
    check["manual_adam_replay"] = manual
    check["fp64_trajectory_vs_fp32"] = fp64_traj

    frozen = [n for n in names if n not in train
              and not (method in ("base", "lora") and n.startswith(("l_in.", "l_out.")))]
    bad = {k: check[k] for k, lim in CHECK_LIMITS.items() if not check[k] <= lim}
    if manual["final_max_diff"] > 1e-6 or manual["loss_max_diff"] > 1e-6:
        bad["manual_adam_replay"] = manual
    if bad:
        raise RuntimeError(f"{case}: self-check failed: {bad}")
    zero = [n for n in train if not bool(grads[n].any())]
    opt_meta = {"name": opt_kind, "torch_class": "AdamW" if opt_kind == "adamw" else "Adam",
                "lr": HP["lr"], "betas": HP["betas"], "eps": HP["eps"], "amsgrad": False,
                "foreach": False,
                "weight_decay": WEIGHT_DECAY if opt_kind == "adamw" else 0.0}
    if groups is not None:
        opt_meta["decoupled_weight_decay"] = True
        opt_meta["no_decay"] = groups["no_decay"]
        opt_meta["no_decay_rule"] = "names ending in .bias or containing LayerNorm.weight"
    meta = {
        "case": case, "method": method, "arch": arch,
        "slm": SLM_KINDS[slm_kind]["dir"],
        "llm": f"../../pifi/{arch}/llm" if arch else None,
        "plugged_layer": 2 if arch else None,
        "pooling": SLM_POOLING.get(slm_kind, "cls"), "position_id": 0 if arch else None,
        "classes": K, "batch": B, "seq_len": T, "steps": S, "batch_lengths": lengths,
        "optimizer": opt_meta,
        "clip_grad_norm": HP["clip_grad_norm"], "label_smoothing": HP["label_smoothing"],
        "dropout": "all off (BERT config p = 0, head Dropout(0.2) and LoRA Dropout(0.1) in eval)",
        "trainable": [{"name": n, "shape": list(names[n].shape)} for n in train],
        "frozen": [{"name": n, "shape": list(names[n].shape)} for n in frozen],
        "zero_grad_at_step0": zero,
        "unused": "the LLM's other tensors (embeddings, layers 0-1, final norm, lm_head)"
                  if arch else None,
        "init_tensors": sorted(init),
        "init": f"torch.manual_seed({SEED}) then nn.Linear default init of l_in (64x32), "
                "l_out (32x64), head.dense, head.out in that order (the same in every case)",
    }
    if method == "lora":
        meta["lora"] = {"r": LORA_R, "alpha": LORA_ALPHA, "scale": LORA_ALPHA / LORA_R,
                        "targets": SLM_KINDS[slm_kind]["targets"],
                        "dropout": 0.1, "dropout_in_fixture": "off",
                        "init": f"A and B normal(0, {LORA_STD}), Generator seed {SEED + 1}, "
                                "per layer: query A, query B, value A, value B",
                        "forward": "x W^T + b + scale * (x A^T) B^T"}
    meta["self_check"] = check
    with open(os.path.join(out_dir, "meta.json"), "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    return {"loss": losses, "grad_norm": norms, "clipped": clipped, "self_check": check,
            "trainable_tensors": len(train), "zero_grad_tensors": zero,
            "bytes": dir_size(out_dir)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--only", nargs="*", help="write only these cases (the others' summaries in "
                    "meta.json are kept)")
    args = ap.parse_args()
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    modernbert_float64_softmax()
    llama_float64_softmax()

    batches, lengths = make_batches()
    meta = versions()
    meta.update({"script": "tools/oracle_train.py", "seed": SEED, "dtype": "float32",
                 "attn_implementation": "eager", "hyperparameters": HP,
                 "adamw_weight_decay": WEIGHT_DECAY, "steps": S, "batch": B, "seq_len": T,
                 "classes": K, "cases": {}})
    os.makedirs(args.out, exist_ok=True)
    top = os.path.join(args.out, "meta.json")
    if args.only and os.path.isfile(top):
        with open(top, encoding="utf-8") as f:
            kept = json.load(f)["cases"]
        meta["cases"] = {c: kept[c] for c in CASES if c in kept}
    for case, (method, arch, opt_kind) in CASES.items():
        if args.only and case not in args.only:
            continue
        d = os.path.join(args.out, case)
        if os.path.isdir(d):
            shutil.rmtree(d)
        os.makedirs(d)
        info = run_case(case, method, arch, opt_kind, d, batches, lengths)
        summary = copy.deepcopy(info)      # the full numbers are in <case>/meta.json
        del summary["self_check"]["fp64_trajectory_vs_fp32"]["all_tensors_max_diff"]
        meta["cases"][case] = summary
        c = info["self_check"]
        print(f"{case}: bytes {info['bytes']}  loss {info['loss'][0]:.5f} -> {info['loss'][-1]:.5f}"
              f"  norm0 {info['grad_norm'][0]:.3f} clipped {sum(info['clipped'])}/{S}"
              f"  fd-vs-fp64 {c['fd_vs_fp64_autograd_abs']:.2g}"
              f"  fd-vs-fp32 {c['fd_vs_fp32_grad_abs']:.2g} (rel {c['fd_vs_fp32_grad_rel']:.2g})"
              f"  fp64-vs-fp32 {c['fp64_vs_fp32_grad_abs_all']:.2g}  [{c['coordinates']} coords]"
              f"  reload {c['reload_init_logits_max_diff']:.2g}"
              f"  manual-adam final {c['manual_adam_replay']['final_max_diff']:.2g}"
              f" loss {c['manual_adam_replay']['loss_max_diff']:.2g}"
              f"  fp64-traj loss {c['fp64_trajectory_vs_fp32']['loss_max_diff']:.2g} final "
              f"{max(c['fp64_trajectory_vs_fp32']['final_tensors_max_diff'].values()):.2g}"
              f" noisy {sorted(c['fp64_trajectory_vs_fp32']['tensors_over_1e-4'])}")
    with open(os.path.join(args.out, "meta.json"), "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    print(f"total bytes {dir_size(args.out)}")


if __name__ == "__main__":
    main()
