"""Writes tests/fixtures/pifi/<arch>/ (arch = llama, mistral, qwen2, gemma2):
reference outputs of the PiFi plug-in (Kim et al., ACL 2025) computed with
transformers' own modules: a tiny random BERT (the SLM) encodes a padded batch,
L_in lifts its hidden states to the LLM width, the LAST decoder layer of a tiny
random causal LM (called exactly as its transformers model calls it: 4D mask,
position_ids, position_embeddings from the model's own rotary_emb) transforms
them, L_out brings them back, and a classification head gives logits.

  pooled:   u = pool(h) (cls / mean over real tokens / last real token), one
            position (0): logits = head(L_out(layer(L_in(u))))[:, 0]
  sequence: all T positions 0..T-1, padding mask applied as a bidirectional
            mask (padded keys masked for every query) and as causal + padding:
            seq = L_out(layer(L_in(h)))

For llama it also writes llm.f32.gguf / llm.q8_0.gguf the way llama.cpp's
convert_hf_to_gguf.py converts a LlamaForCausalLM, the last layer's weights as
read back from the Q8_0 file (dequantized, un-permuted, HF names) and the CLS
logits those weights give.

Weights are drawn wider than the default init (normal std 0.15-0.2, RMSNorm
weights 1 + 0.1 N(0,1), or 0.1 N(0,1) for Gemma's (1 + w) norm) so that a wrong
op shows. Layout: tests/fixtures/README.md, section pifi/<arch>/.

usage: oracle_pifi.py --out tests/fixtures/pifi
"""

import argparse
import copy
import importlib.metadata as md
import inspect
import json
import math
import os
import platform
import shutil

import gguf
import numpy as np
import torch
import transformers
from safetensors.torch import load_file, save_file
from torch import nn
from transformers.masking_utils import (create_bidirectional_mask, create_causal_mask,
                                        create_sliding_window_causal_mask)

SEED = 20250701
B, T = 3, 10
LENGTHS = [10, 7, 4]     # real tokens per row; the rest is right padding
D_SLM, CLASSES = 32, 3
LLM_STD = 0.15           # LLM weight spread
SLM_STD = 0.2            # BERT and head weight spread


def versions():
    v = {"python": platform.python_version(), "torch": torch.__version__,
         "transformers": transformers.__version__, "numpy": np.__version__}
    for pkg in ("gguf", "safetensors", "tokenizers"):
        try:
            v[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    return v


# ---------------------------------------------------------------- the models

def llm_specs():
    common = dict(vocab_size=128, hidden_size=64, intermediate_size=96, num_hidden_layers=3,
                  num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                  attention_dropout=0.0)
    return {
        "llama": (transformers.LlamaForCausalLM, transformers.LlamaConfig(
            rms_norm_eps=1e-5, attention_bias=False, tie_word_embeddings=False,
            rope_parameters={"rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0,
                             "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                             "original_max_position_embeddings": 64},
            # also at the top level, where convert_hf_to_gguf.py reads it (see gguf notes)
            original_max_position_embeddings=64, **common)),
        "mistral": (transformers.MistralForCausalLM, transformers.MistralConfig(
            rms_norm_eps=1e-6, sliding_window=None, tie_word_embeddings=False,
            rope_parameters={"rope_type": "default", "rope_theta": 10000.0}, **common)),
        "qwen2": (transformers.Qwen2ForCausalLM, transformers.Qwen2Config(
            rms_norm_eps=1e-6, tie_word_embeddings=True, use_sliding_window=False,
            rope_parameters={"rope_type": "default", "rope_theta": 1000000.0}, **common)),
        "gemma2": (transformers.Gemma2ForCausalLM, transformers.Gemma2Config(
            rms_norm_eps=1e-6, head_dim=16, hidden_activation="gelu_pytorch_tanh",
            query_pre_attn_scalar=8, attn_logit_softcapping=50.0, final_logit_softcapping=30.0,
            sliding_window=64, tie_word_embeddings=True, pad_token_id=0,
            rope_parameters={"rope_type": "default", "rope_theta": 10000.0}, **common)),
    }


def slm_config():
    return transformers.BertConfig(
        vocab_size=1000, hidden_size=D_SLM, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=64, hidden_act="gelu", type_vocab_size=2, max_position_embeddings=64,
        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, layer_norm_eps=1e-12,
        pad_token_id=0)


def init_llm(model, arch, gen):
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=gen)
            if name.endswith("norm.weight"):
                p.copy_(0.1 * noise if arch.startswith("gemma") else 1.0 + 0.1 * noise)
            elif name.endswith(".bias"):
                p.copy_(0.1 * noise)
            else:
                p.copy_(LLM_STD * noise)


def init_slm(model, gen):
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=gen)
            if "LayerNorm.weight" in name:
                p.copy_(1.0 + 0.1 * noise)
            elif "LayerNorm.bias" in name:
                p.copy_(0.1 * noise)
            else:
                p.copy_(SLM_STD * noise)


class Heads(nn.Module):
    """L_in, L_out and the classification head (dropout is a no-op in eval)."""

    def __init__(self, d_llm):
        super().__init__()
        self.l_in = nn.Linear(D_SLM, d_llm, bias=False)
        self.l_out = nn.Linear(d_llm, D_SLM, bias=False)
        self.head = nn.Sequential()
        self.head.add_module("dense", nn.Linear(D_SLM, D_SLM))
        self.head.add_module("drop", nn.Dropout(0.2))
        self.head.add_module("act", nn.GELU())   # exact (erf) GELU
        self.head.add_module("out", nn.Linear(D_SLM, CLASSES))

    def init(self, gen):
        with torch.no_grad():
            for name, p in self.named_parameters():
                noise = torch.randn(p.shape, generator=gen)
                p.copy_((0.1 if name.endswith("bias") else SLM_STD) * noise)

    def tensors(self):
        return {k.replace("head.drop.", ""): v.detach().contiguous()
                for k, v in self.state_dict().items()}


def make_inputs(cfg, gen):
    ids = torch.zeros((B, T), dtype=torch.int64)
    mask = torch.zeros((B, T), dtype=torch.int64)
    types = torch.zeros((B, T), dtype=torch.int64)
    for b, n in enumerate(LENGTHS):
        ids[b, :n] = torch.randint(5, cfg.vocab_size, (n,), generator=gen)  # never the pad id 0
        mask[b, :n] = 1
        types[b, :n] = torch.randint(0, 2, (n,), generator=gen)
    return ids, mask, types


# ---------------------------------------------------------------- the plug-in

def last_layer_type(cfg):
    types = getattr(cfg, "layer_types", None)
    return types[-1] if types else "full_attention"


def build_mask(cfg, kind, x, mask2d, pos):
    """The 4D additive mask transformers builds for the last layer (eager, fp32)."""
    if kind == "bidir":
        m = create_bidirectional_mask(config=cfg, inputs_embeds=x, attention_mask=mask2d)
    elif last_layer_type(cfg) == "sliding_attention":
        m = create_sliding_window_causal_mask(config=cfg, inputs_embeds=x, attention_mask=mask2d,
                                              cache=None, position_ids=pos)
    else:
        m = create_causal_mask(config=cfg, inputs_embeds=x, attention_mask=mask2d, cache=None,
                               position_ids=pos)
    if m is None:   # nothing to mask (no padding, one position): same as an all-zero mask
        m = torch.zeros((x.shape[0], 1, x.shape[1], x.shape[1]), dtype=x.dtype)
    # the semantics the fixture promises: padded keys masked for every query (+ causal)
    keep = mask2d.bool()[:, None, None, :].expand(-1, 1, x.shape[1], -1)
    if kind == "causal":
        keep = keep & torch.ones(x.shape[1], x.shape[1], dtype=torch.bool).tril()
    if not torch.equal(m > torch.finfo(m.dtype).min / 2, keep):
        raise RuntimeError(f"{kind} mask from transformers differs from the promised semantics")
    return m


def call_layer(lm, layer, x, mask4d, pos):
    """The call LlamaModel.forward (and its siblings) makes for each decoder layer
    (Gemma3: the rotary embedding of the layer's type)."""
    kw = {}
    if "layer_type" in inspect.signature(lm.model.rotary_emb.forward).parameters:
        kw["layer_type"] = layer.self_attn.layer_type
    pe = lm.model.rotary_emb(x, position_ids=pos, **kw)
    return layer(x, attention_mask=mask4d, position_embeddings=pe, position_ids=pos, cache=None)


def pool(h, mask, how):
    if how == "cls":
        return h[:, 0:1]
    if how == "mean":
        m = mask.to(h.dtype)[:, :, None]
        return ((h * m).sum(1) / m.sum(1))[:, None]
    last = mask.sum(1) - 1
    return h[torch.arange(h.shape[0]), last][:, None]


def pifi_outputs(slm, lm, layer, heads, ids, mask, types):
    cfg = lm.config
    with torch.no_grad():
        h = slm(input_ids=ids, attention_mask=mask, token_type_ids=types).last_hidden_state
        out = {}
        pos1 = torch.zeros((1, 1), dtype=torch.int64)
        for how in ("cls", "mean", "last"):
            x = heads.l_in(pool(h, mask, how))                      # (B, 1, d_llm)
            m = build_mask(cfg, "causal", x, torch.ones((B, 1), dtype=torch.int64), pos1)
            z = call_layer(lm, layer, x, m, pos1)
            out["logits_" + how] = heads.head(heads.l_out(z))[:, 0]
        pos = torch.arange(T).unsqueeze(0)
        x = heads.l_in(h)                                           # (B, T, d_llm)
        for kind in ("bidir", "causal"):
            m = build_mask(cfg, kind, x, mask, pos)
            out["seq_" + kind] = heads.l_out(call_layer(lm, layer, x, m, pos))
    return h, {k: v.float().contiguous() for k, v in out.items()}


def rms(x, w, eps, gemma):
    n = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)
    return n * (1.0 + w) if gemma else w * n


def closed_form_one_position(layer, cfg, x, gemma):
    """At one position softmax is 1: attn = W_o expand_gqa(W_v norm(x) + b_v)."""
    a, eps = layer.self_attn, cfg.rms_norm_eps
    with torch.no_grad():
        v = a.v_proj(rms(x, layer.input_layernorm.weight, eps, gemma))
        hd = a.head_dim
        v = v.view(*v.shape[:-1], -1, hd).repeat_interleave(a.num_key_value_groups, dim=-2)
        att = a.o_proj(v.flatten(-2))
        if gemma:
            y = x + rms(att, layer.post_attention_layernorm.weight, eps, True)
            f = layer.mlp(rms(y, layer.pre_feedforward_layernorm.weight, eps, True))
            return y + rms(f, layer.post_feedforward_layernorm.weight, eps, True)
        y = x + att
        return y + layer.mlp(rms(y, layer.post_attention_layernorm.weight, eps, False))


def check_call_matches_model(lm, layer, x, mask):
    """Hook the full model: feeding the last layer's captured input through
    call_layer must reproduce its captured output (same mask, same rotary)."""
    seen = {}

    def pre(mod, args, kwargs):
        seen["x"] = args[0] if args else kwargs["hidden_states"]
        seen["mask"] = kwargs.get("attention_mask")

    def post(mod, args, kwargs, output):
        seen["y"] = output[0] if isinstance(output, tuple) else output

    h1 = layer.register_forward_pre_hook(pre, with_kwargs=True)
    h2 = layer.register_forward_hook(post, with_kwargs=True)
    try:
        with torch.no_grad():
            lm.model(inputs_embeds=x, attention_mask=mask, use_cache=False)
    finally:
        h1.remove()
        h2.remove()
    pos = torch.arange(x.shape[1]).unsqueeze(0)
    m = build_mask(lm.config, "causal", seen["x"], mask, pos)
    if not torch.equal(m, seen["mask"]):
        raise RuntimeError("causal mask differs from the one the model passes to its last layer")
    with torch.no_grad():
        y = call_layer(lm, layer, seen["x"], m, pos)
    return float((y - seen["y"]).abs().max())


# ---------------------------------------------------------------- GGUF (llama)

def permute(w, n_head):
    """convert_hf_to_gguf.py LlamaModel.permute (n_head = n_kv_heads for K)."""
    return (w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:])
            .swapaxes(1, 2).reshape(w.shape))


def unpermute(w, n_head):
    return (w.reshape(n_head, w.shape[0] // n_head // 2, 2, *w.shape[1:])
            .swapaxes(1, 2).reshape(w.shape))


def llama3_rope_factors(cfg):
    """convert_hf_to_gguf.py LlamaModel.generate_extra_tensors for rope_type llama3.
    The converter takes old_context_len from the TOP-LEVEL hparams key
    original_max_position_embeddings (default 8192), not from rope_scaling; our
    config.json carries it at both places so converter and transformers agree."""
    rp = cfg.rope_parameters
    base = rp["rope_theta"]
    dim = cfg.hidden_size // cfg.num_attention_heads
    freqs = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.float32) / dim))
    factor, lo, hi = rp["factor"], rp["low_freq_factor"], rp["high_freq_factor"]
    old_context_len = cfg.original_max_position_embeddings
    low_freq_wavelen, high_freq_wavelen = old_context_len / lo, old_context_len / hi
    out = []
    for freq in freqs:
        wavelen = 2 * math.pi / freq
        if wavelen < high_freq_wavelen:
            out.append(1)
        elif wavelen > low_freq_wavelen:
            out.append(factor)
        else:
            smooth = (old_context_len / wavelen - lo) / (hi - lo)
            out.append(1 / ((1 - smooth) / factor + smooth))
    return torch.tensor(out, dtype=torch.float32)


GGUF_NAMES = {"self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k",
              "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output",
              "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down",
              "input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm"}


def gguf_name(hf):
    if hf == "model.embed_tokens.weight":
        return "token_embd.weight"
    if hf == "model.norm.weight":
        return "output_norm.weight"
    if hf == "lm_head.weight":
        return "output.weight"
    parts = hf.split(".")          # model.layers.N.<module...>.weight
    return f"blk.{parts[2]}.{GGUF_NAMES['.'.join(parts[3:-1])]}.weight"


def write_gguf(lm, path, q8):
    cfg = lm.config
    Q = gguf.GGMLQuantizationType
    hd = cfg.hidden_size // cfg.num_attention_heads
    w = gguf.GGUFWriter(path, arch="llama")
    w.add_type(gguf.GGUFType.MODEL)
    w.add_name("pifi tiny llama")
    w.add_block_count(cfg.num_hidden_layers)
    w.add_context_length(cfg.max_position_embeddings)
    w.add_embedding_length(cfg.hidden_size)
    w.add_feed_forward_length(cfg.intermediate_size)
    w.add_head_count(cfg.num_attention_heads)
    w.add_head_count_kv(cfg.num_key_value_heads)
    w.add_rope_freq_base(cfg.rope_parameters["rope_theta"])
    w.add_layer_norm_rms_eps(cfg.rms_norm_eps)
    if getattr(cfg, "head_dim", None) is not None:
        w.add_key_length(cfg.head_dim)
        w.add_value_length(cfg.head_dim)
    w.add_file_type(gguf.LlamaFileType.MOSTLY_Q8_0 if q8 else gguf.LlamaFileType.ALL_F32)
    w.add_vocab_size(cfg.vocab_size)
    w.add_rope_dimension_count(hd)
    w.add_quantization_version(gguf.GGML_QUANT_VERSION)
    w.add_tensor("rope_freqs.weight", llama3_rope_factors(cfg).numpy())
    for name, t in lm.state_dict().items():
        a = t.detach().float().numpy()
        if name.endswith("q_proj.weight"):
            a = permute(a, cfg.num_attention_heads)
        elif name.endswith("k_proj.weight"):
            a = permute(a, cfg.num_key_value_heads)
        a = np.ascontiguousarray(a, dtype=np.float32)
        if q8 and a.ndim == 2:
            w.add_tensor(gguf_name(name), gguf.quants.quantize(a, Q.Q8_0), raw_dtype=Q.Q8_0)
        else:
            w.add_tensor(gguf_name(name), a)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def read_gguf_layer(path, cfg, n):
    """Layer n's weights from a GGUF file as HF names: dequantized, un-permuted."""
    r = gguf.GGUFReader(path)
    inv = {v: k for k, v in GGUF_NAMES.items()}
    out = {}
    for t in r.tensors:
        if not t.name.startswith(f"blk.{n}."):
            continue
        a = gguf.quants.dequantize(np.array(t.data), t.tensor_type).astype(np.float32)
        kind = t.name.split(".")[2]
        if kind == "attn_q":
            a = unpermute(a, cfg.num_attention_heads)
        elif kind == "attn_k":
            a = unpermute(a, cfg.num_key_value_heads)
        out[f"model.layers.{n}.{inv[kind]}.weight"] = torch.from_numpy(np.ascontiguousarray(a))
    return out, r


# ---------------------------------------------------------------- per arch

def dir_size(d):
    return sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(d) for f in fs)


def build_arch(arch, cls, cfg, out_dir, slm_state):
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED + sum(map(ord, arch)))
    cfg._attn_implementation = "eager"
    lm = cls(cfg)
    init_llm(lm, arch, gen)
    lm.eval()
    layer = lm.model.layers[-1]
    for p in lm.parameters():
        p.requires_grad_(False)

    scfg = slm_config()
    scfg._attn_implementation = "eager"
    slm = transformers.BertModel(scfg, add_pooling_layer=False)
    slm.load_state_dict(slm_state)
    slm.eval()
    heads = Heads(cfg.hidden_size)
    heads.init(gen)
    heads.eval()
    ids, mask, types = make_inputs(scfg, torch.Generator().manual_seed(SEED))

    h, io = pifi_outputs(slm, lm, layer, heads, ids, mask, types)
    info = {"model_class": cls.__name__, "decoder_layer": type(layer).__name__,
            "plugged_layer": cfg.num_hidden_layers - 1,
            "plugged_layer_type": last_layer_type(cfg)}

    # one position: the layer reduces to V, O and the MLP
    x1 = heads.l_in(h[:, 0:1]).detach()
    with torch.no_grad():
        z = call_layer(lm, layer, x1, None, torch.zeros((1, 1), dtype=torch.int64))
    info["closed_form_one_position_max_diff"] = float(
        (z - closed_form_one_position(layer, cfg, x1, arch.startswith("gemma"))).abs().max())
    # our call == the call the model makes (causal, padded batch)
    info["call_vs_model_hook_max_diff"] = check_call_matches_model(
        lm, layer, heads.l_in(h).detach(), mask)

    lm.save_pretrained(os.path.join(out_dir, "llm"))
    slm.save_pretrained(os.path.join(out_dir, "slm"))
    save_file(heads.tensors(), os.path.join(out_dir, "heads.safetensors"))

    if arch == "llama":
        write_gguf(lm, os.path.join(out_dir, "llm.f32.gguf"), q8=False)
        write_gguf(lm, os.path.join(out_dir, "llm.q8_0.gguf"), q8=True)
        n = cfg.num_hidden_layers - 1
        f32, _ = read_gguf_layer(os.path.join(out_dir, "llm.f32.gguf"), cfg, n)
        sd = lm.state_dict()
        info["gguf_f32_roundtrip_max_diff"] = max(
            float((v - sd[k]).abs().max()) for k, v in f32.items())
        deq, _ = read_gguf_layer(os.path.join(out_dir, "llm.q8_0.gguf"), cfg, n)
        if sorted(deq) != sorted(k for k in sd if k.startswith(f"model.layers.{n}.")):
            raise RuntimeError("q8_0 layer tensors do not cover the HF layer")
        save_file(deq, os.path.join(out_dir, "llm_q8_0_dequant.safetensors"))
        layer_q8 = copy.deepcopy(layer)
        layer_q8.load_state_dict({k.split(f"layers.{n}.", 1)[1]: v for k, v in deq.items()})
        _, io_q8 = pifi_outputs(slm, lm, layer_q8, heads, ids, mask, types)
        io["logits_cls_q8_0"] = io_q8["logits_cls"]
        info["logits_cls_q8_0_vs_f32_max_diff"] = float(
            (io_q8["logits_cls"] - io["logits_cls"]).abs().max())
        ff = llama3_rope_factors(cfg)
        hf = lm.model.rotary_emb.original_inv_freq
        hd = cfg.hidden_size // cfg.num_attention_heads
        base = 1.0 / (cfg.rope_parameters["rope_theta"] ** (torch.arange(0, hd, 2).float() / hd))
        info["rope_freqs"] = [float(f) for f in ff]
        info["rope_freqs_vs_hf_inv_freq_max_rel_diff"] = float(((base / ff) / hf - 1).abs().max())

    io.update({"input_ids": ids, "attention_mask": mask, "token_type_ids": types})
    save_file({k: v.contiguous() for k, v in io.items()}, os.path.join(out_dir, "io.safetensors"))

    # self-check: everything again from the files just written
    lm2 = cls.from_pretrained(os.path.join(out_dir, "llm"), attn_implementation="eager").eval()
    slm2 = transformers.BertModel.from_pretrained(os.path.join(out_dir, "slm"),
                                                  attn_implementation="eager").eval()
    heads2 = Heads(cfg.hidden_size).eval()
    hs = load_file(os.path.join(out_dir, "heads.safetensors"))
    heads2.load_state_dict(hs)
    _, io2 = pifi_outputs(slm2, lm2, lm2.model.layers[-1], heads2, ids, mask, types)
    saved = load_file(os.path.join(out_dir, "io.safetensors"))
    info["reload_max_diff"] = {k: float((io2[k] - saved[k]).abs().max()) for k in io2}
    if max(info["reload_max_diff"].values()) > 0:
        raise RuntimeError(arch + ": reloaded files give different outputs")

    info["abs_max"] = {k: float(v.abs().max()) for k, v in io.items() if v.is_floating_point()}
    info["bytes"] = dir_size(out_dir)
    return info


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)

    # one SLM, the same in every arch directory
    scfg = slm_config()
    scfg._attn_implementation = "eager"
    torch.manual_seed(SEED)
    slm = transformers.BertModel(scfg, add_pooling_layer=False)
    init_slm(slm, torch.Generator().manual_seed(SEED + 1))
    slm_state = copy.deepcopy(slm.state_dict())

    meta = versions()
    meta.update({
        "script": "tools/oracle_pifi.py", "seed": SEED, "dtype": "float32",
        "attn_implementation": "eager", "batch": B, "seq_len": T, "lengths": LENGTHS,
        "d_slm": D_SLM, "classes": CLASSES,
        "init": (f"LLM normal std {LLM_STD}, biases 0.1 N(0,1), RMSNorm weight 1 + 0.1 N(0,1) "
                 f"(gemma2: 0.1 N(0,1), used as 1 + w); SLM and heads normal std {SLM_STD}, "
                 "head biases 0.1 N(0,1), LayerNorm 1 + 0.1 N / 0.1 N"),
        "pooled": "position_ids [[0]], a (B,1) all-ones padding mask through the model's mask builder",
        "sequence": "position_ids 0..T-1; masks from transformers.masking_utils "
                    "(create_bidirectional_mask / create_causal_mask, or "
                    "create_sliding_window_causal_mask where the last layer is sliding with "
                    "window > T), checked to equal: padded keys masked for every query (+ causal)",
        "gguf_llama": (
            "written with gguf.GGUFWriter following convert_hf_to_gguf.py LlamaModel: arch llama; "
            "general.type, general.name, llama.block_count, context_length, embedding_length, "
            "feed_forward_length, attention.head_count, attention.head_count_kv, rope.freq_base, "
            "attention.layer_norm_rms_epsilon, attention.key_length/value_length (config has "
            "head_dim), general.file_type (0 ALL_F32 / 7 MOSTLY_Q8_0), llama.vocab_size, "
            "rope.dimension_count, general.quantization_version; NO tokenizer.ggml.* keys (the "
            "tiny LM has no tokenizer). Tensors: rope_freqs.weight (F32, head_dim/2 llama3 "
            "factors: 1 for wavelen < old_ctx/high, factor for wavelen > old_ctx/low, else "
            "1/((1-s)/factor+s), s = (old_ctx/wavelen - low)/(high - low); llama.cpp divides "
            "the rotation frequency by them), token_embd, blk.N.{attn_norm,attn_q,attn_k,attn_v,"
            "attn_output,ffn_norm,ffn_gate,ffn_up,ffn_down}, output_norm, output. attn_q/attn_k "
            "rows permuted (LlamaModel.permute, n_head_kv for K). Q8_0 file: every 2-D tensor "
            "quantized with gguf.quants.quantize (token_embd and output included), 1-D F32. "
            "Quirk: the converter reads original_max_position_embeddings from the top level of "
            "config.json (default 8192), not from rope_scaling; the llama config.json has it in "
            "both places (transformers also prefers the top-level one), so both agree on 64."),
        "archs": {},
    })
    for arch, (cls, cfg) in llm_specs().items():
        d = os.path.join(args.out, arch)
        if os.path.isdir(d):
            shutil.rmtree(d)
        os.makedirs(d)
        info = build_arch(arch, cls, cfg, d, slm_state)
        meta["archs"][arch] = info
        print(f"{arch}: bytes {info['bytes']}  closed-form {info['closed_form_one_position_max_diff']:.3g}"
              f"  call-vs-model {info['call_vs_model_hook_max_diff']:.3g}"
              f"  reload {max(info['reload_max_diff'].values()):.3g}"
              + (f"  gguf-f32 {info['gguf_f32_roundtrip_max_diff']:.3g}"
                 f"  q8-vs-f32 logits {info['logits_cls_q8_0_vs_f32_max_diff']:.3g}"
                 f"  rope-freqs rel {info['rope_freqs_vs_hf_inv_freq_max_rel_diff']:.3g}"
                 if arch == "llama" else ""))
    with open(os.path.join(args.out, "meta.json"), "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
