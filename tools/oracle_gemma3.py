"""Gemma3 decoder layers (transformers' Gemma3DecoderLayer) as pifi's oracle.

  --out tests/fixtures/pifi: two tiny random Gemma3 text models, written like
      oracle_pifi.py's <arch>/ directories (same SLM, heads, inputs, io names):
      gemma3/       last layer sliding_attention (RoPE base 10000, window 64)
      gemma3_full/  last layer full_attention (RoPE base 1e6, linear scaling x2)
      both GQA (4 query, 2 KV heads), head_dim 24 != hidden 64 / 4 heads,
      query_pre_attn_scalar 20, q/k norms; and grads.safetensors in each: the
      last layer alone on random x, L = sum(out * r), its input gradient and
      every weight's gradient, in sequence mode (bidirectional and causal, the
      padding mask of LENGTHS) and pooled mode (one token at position 0).
  --real FILE.gguf --out-real DIR: the real Gemma-3-270M (Q4_K_M GGUF): its
      layers 0 (sliding) and 17 (the last, full) dequantized with gguf's own
      dequantize, (1 + w) norms turned back into w, put into transformers'
      Gemma3DecoderLayer; inputs: token embeddings of the file (times
      sqrt(hidden), as the model scales them) for pooled and sequence mode
      (padded, bidirectional and causal); outputs in DIR/real.safetensors.

  --fuzz-seed FILE.gguf: a small gemma3 GGUF (2 layers, hidden 32, head size
      24, q/k norms, linear rope scaling keys) for fuzz/corpus/llm_gguf.

usage: oracle_gemma3.py --out tests/fixtures/pifi
       oracle_gemma3.py --real models/gemma-3-270m-Q4_K_M.gguf --out-real tests/fixtures/pifi/gemma3_real
"""

import argparse
import hashlib
import json
import os
import shutil
import sys

import gguf
import numpy as np
import torch
import transformers
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle_pifi as op  # noqa: E402

COMMON = dict(vocab_size=128, hidden_size=64, intermediate_size=96, num_hidden_layers=3,
              num_attention_heads=4, num_key_value_heads=2, head_dim=24, max_position_embeddings=128,
              attention_dropout=0.0, rms_norm_eps=1e-6, hidden_activation="gelu_pytorch_tanh",
              query_pre_attn_scalar=20, sliding_window=64, tie_word_embeddings=True, pad_token_id=0)


def specs():
    return {
        "gemma3": transformers.Gemma3TextConfig(
            layer_types=["full_attention", "full_attention", "sliding_attention"],
            rope_parameters={"full_attention": {"rope_type": "default", "rope_theta": 1000000.0},
                             "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0}},
            **COMMON),
        "gemma3_full": transformers.Gemma3TextConfig(
            layer_types=["sliding_attention", "sliding_attention", "full_attention"],
            rope_parameters={"full_attention": {"rope_type": "linear", "factor": 2.0,
                                                "rope_theta": 1000000.0},
                             "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0}},
            **COMMON),
    }


def layer_grads(lm, layer, gen):
    """L = sum(layer(x) * r): dx and the weights' gradients, seq and pooled."""
    cfg = lm.config
    D = cfg.hidden_size
    out = {}
    mask = torch.zeros((op.B, op.T), dtype=torch.int64)
    for b, n in enumerate(op.LENGTHS):
        mask[b, :n] = 1
    out["mask"] = mask
    cases = [("bidir", op.T), ("causal", op.T), ("pooled", 1)]
    for kind, t in cases:
        x = torch.randn((op.B, t, D), generator=gen)
        r = torch.randn((op.B, t, D), generator=gen)
        x.requires_grad_(True)
        pos = torch.arange(t).unsqueeze(0)
        m2 = mask if kind != "pooled" else torch.ones((op.B, 1), dtype=torch.int64)
        m4 = op.build_mask(cfg, "bidir" if kind == "bidir" else "causal", x.detach(), m2, pos)
        for p in layer.parameters():
            p.requires_grad_(True)
            p.grad = None
        y = op.call_layer(lm, layer, x, m4, pos)
        (y * r).sum().backward()
        out[f"{kind}_x"] = x.detach()
        out[f"{kind}_r"] = r
        out[f"{kind}_out"] = y.detach()
        out[f"{kind}_dx"] = x.grad.detach()
        for name, p in layer.named_parameters():
            if p.grad is not None and p.grad.abs().max() > 0:
                out[f"{kind}.{name}"] = p.grad.detach().clone()
        for p in layer.parameters():
            p.requires_grad_(False)
    return {k: v.contiguous() for k, v in out.items()}


def build_tiny(out_root):
    meta = {"script": "tools/oracle_gemma3.py", "versions": op.versions(), "archs": {}}
    torch.manual_seed(op.SEED)
    scfg = op.slm_config()
    scfg._attn_implementation = "eager"
    slm = transformers.BertModel(scfg, add_pooling_layer=False)
    op.init_slm(slm, torch.Generator().manual_seed(op.SEED + 1))
    slm_state = {k: v.clone() for k, v in slm.state_dict().items()}
    for arch, cfg in specs().items():
        d = os.path.join(out_root, arch)
        if os.path.isdir(d):
            shutil.rmtree(d)
        os.makedirs(d)
        info = op.build_arch(arch, transformers.Gemma3ForCausalLM, cfg, d, slm_state)
        lm = transformers.Gemma3ForCausalLM.from_pretrained(os.path.join(d, "llm"),
                                                            attn_implementation="eager").eval()
        g = layer_grads(lm, lm.model.layers[-1], torch.Generator().manual_seed(op.SEED + 7))
        save_file(g, os.path.join(d, "grads.safetensors"))
        info["grad_abs_max"] = {k: float(v.abs().max()) for k, v in g.items() if v.is_floating_point()}
        meta["archs"][arch] = info
        print(f"{arch}: bytes {info['bytes']}  closed-form {info['closed_form_one_position_max_diff']:.3g}"
              f"  call-vs-model {info['call_vs_model_hook_max_diff']:.3g}")
    with open(os.path.join(out_root, "meta_gemma3.json"), "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")


# ---------------------------------------------------------------- the real file

HF_OF = {"attn_norm": "input_layernorm", "post_attention_norm": "post_attention_layernorm",
         "ffn_norm": "pre_feedforward_layernorm", "post_ffw_norm": "post_feedforward_layernorm",
         "attn_q_norm": "self_attn.q_norm", "attn_k_norm": "self_attn.k_norm",
         "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
         "attn_output": "self_attn.o_proj", "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj",
         "ffn_down": "mlp.down_proj"}


def deq(t):
    a = gguf.dequantize(t.data, t.tensor_type).astype(np.float32)
    return torch.from_numpy(np.ascontiguousarray(a.reshape([int(s) for s in reversed(t.shape.tolist())])))


def real_config(r):
    f = {k: v.contents() for k, v in r.fields.items() if k.startswith("gemma3.")}
    n = f["gemma3.block_count"]
    # what llama.cpp sets for gemma3: every 6th layer full, local base 10000, scale head_dim^-0.5
    return transformers.Gemma3TextConfig(
        vocab_size=16, hidden_size=f["gemma3.embedding_length"],
        intermediate_size=f["gemma3.feed_forward_length"], num_hidden_layers=n,
        num_attention_heads=f["gemma3.attention.head_count"],
        num_key_value_heads=f["gemma3.attention.head_count_kv"],
        head_dim=f["gemma3.attention.key_length"], query_pre_attn_scalar=f["gemma3.attention.key_length"],
        rms_norm_eps=f["gemma3.attention.layer_norm_rms_epsilon"],
        sliding_window=f["gemma3.attention.sliding_window"],
        layer_types=["sliding_attention" if (i + 1) % 6 else "full_attention" for i in range(n)],
        rope_parameters={"full_attention": {"rope_type": "default", "rope_theta": f["gemma3.rope.freq_base"]},
                         "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0}})


def build_real(path, out_dir):
    r = gguf.GGUFReader(path)
    cfg = real_config(r)
    cfg._attn_implementation = "eager"
    torch.manual_seed(0)
    lm = transformers.Gemma3ForCausalLM(cfg).eval()
    T = {t.name: t for t in r.tensors}
    emb = T["token_embd.weight"]
    D = cfg.hidden_size
    gen = torch.Generator().manual_seed(op.SEED)
    B, L, lengths = 3, 8, [8, 5, 2]
    ids = torch.randint(1000, 20000, (B, L), generator=gen)
    # rows of the Q8_0 embedding table: each row is 640 / 32 whole blocks
    rows = np.array(emb.data).reshape(emb.shape[1], -1)
    x = torch.stack([deq_rows(rows, emb.tensor_type, ids[b]) for b in range(B)]) * (D ** 0.5)
    mask = torch.zeros((B, L), dtype=torch.int64)
    for b, n in enumerate(lengths):
        mask[b, :n] = 1
    out = {"x": x.contiguous(), "mask": mask, "ids": ids}
    info = {"file": os.path.basename(path), "bytes": os.path.getsize(path),
            "sha256": hashlib.sha256(open(path, "rb").read()).hexdigest(), "layers": {}}
    for n in (0, cfg.num_hidden_layers - 1):
        layer = lm.model.layers[n]
        sd, types = {}, {}
        for g, hf in HF_OF.items():
            t = T[f"blk.{n}.{g}.weight"]
            w = deq(t)
            types[g] = t.tensor_type.name
            if g.endswith("norm"):
                w = w - 1.0      # llama.cpp stores Gemma's (1 + w)
            sd[f"{hf}.weight"] = w
        layer.load_state_dict(sd)
        with torch.no_grad():
            pos1 = torch.zeros((1, 1), dtype=torch.int64)
            out[f"l{n}_pooled"] = op.call_layer(lm, layer, x[:, :1], None, pos1).contiguous()
            pos = torch.arange(L).unsqueeze(0)
            for kind in ("bidir", "causal"):
                m = op.build_mask(cfg, kind, x, mask, pos)
                out[f"l{n}_seq_{kind}"] = op.call_layer(lm, layer, x, m, pos).contiguous()
        info["layers"][n] = {"type": cfg.layer_types[n], "tensor_types": types,
                             "out_abs_max": float(out[f"l{n}_seq_bidir"].abs().max())}
    os.makedirs(out_dir, exist_ok=True)
    save_file(out, os.path.join(out_dir, "real.safetensors"))
    info["versions"] = op.versions()
    with open(os.path.join(out_dir, "meta.json"), "w", encoding="utf-8") as f:
        json.dump(info, f, indent=2)
        f.write("\n")
    print("real:", json.dumps(info["layers"]))


def deq_rows(rows, qtype, ids):
    return torch.from_numpy(np.stack([gguf.dequantize(rows[i], qtype).astype(np.float32).reshape(-1)
                                      for i in ids.tolist()]))


def write_fuzz_seed(path):
    gen = torch.Generator().manual_seed(op.SEED)
    w = gguf.GGUFWriter(path, arch="gemma3")
    D, H, KV, HD, FF = 32, 2, 1, 24, 32
    w.add_block_count(2)
    w.add_embedding_length(D)
    w.add_feed_forward_length(FF)
    w.add_head_count(H)
    w.add_head_count_kv(KV)
    w.add_key_length(HD)
    w.add_value_length(HD)
    w.add_layer_norm_rms_eps(1e-6)
    w.add_rope_freq_base(1e6)
    w.add_sliding_window(16)
    w.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
    w.add_rope_scaling_factor(8.0)
    shapes = {"attn_norm": (D,), "attn_q_norm": (HD,), "attn_k_norm": (HD,), "post_attention_norm": (D,),
              "ffn_norm": (D,), "post_ffw_norm": (D,), "attn_q": (H * HD, D), "attn_k": (KV * HD, D),
              "attn_v": (KV * HD, D), "attn_output": (D, H * HD), "ffn_gate": (FF, D), "ffn_up": (FF, D),
              "ffn_down": (D, FF)}
    for n in range(2):
        for g, shape in shapes.items():
            a = torch.randn(shape, generator=gen) * (0.1 if len(shape) == 1 else 0.2)
            w.add_tensor(f"blk.{n}.{g}.weight", (a + (1.0 if len(shape) == 1 else 0.0)).numpy())
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out")
    ap.add_argument("--real")
    ap.add_argument("--out-real")
    ap.add_argument("--fuzz-seed")
    args = ap.parse_args()
    if args.fuzz_seed:
        write_fuzz_seed(args.fuzz_seed)
    transformers.logging.set_verbosity_error()
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    if args.out:
        build_tiny(args.out)
    if args.real:
        build_real(args.real, args.out_real)


if __name__ == "__main__":
    main()
