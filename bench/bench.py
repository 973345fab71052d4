"""bench.py: the PyTorch side of bench/run.sh, and the random models it needs.

  bench.py make-models DIR
      DIR/bert-base-random     BERT-base shapes (12 x 768, FF 3072), random weights
      DIR/llama31-8b-layer     one decoder layer shaped like Llama-3.1-8B's (4096,
                               32 q / 8 kv heads of 128, FF 14336, llama3 RoPE),
                               random weights in bf16 (what the real model stores)
  bench.py run --slm DIR --llm DIR --mode train|infer --precision fp32|bf16
               --batch 32 --max-len 100 --threads N --steps S --warmup W
      One measurement in this process, the PiFi model as pifi builds it:
      BertModel -> CLS -> L_in -> the decoder layer at position 0 -> L_out ->
      Linear, Dropout(0.2), GELU, Linear; training = forward, cross-entropy
      (label smoothing 0.05), backward, clip_grad_norm_(5), Adam(5e-5), the LLM
      layer frozen; bf16 = torch.autocast(bfloat16) around forward and loss
      (PyTorch's mixed precision: fp32 weights, bf16 matmuls). Prints one JSON
      line with examples/s (median of the timed steps, min and max) and the
      peak RSS of this process.

Same synthetic data as `pifi bench`: every example has max-len real tokens.
"""

import argparse
import json
import os
import resource
import statistics
import sys
import time


def make_models(out):
    import torch
    from safetensors.torch import save_file

    os.makedirs(out, exist_ok=True)
    gen = torch.Generator().manual_seed(2025)

    bert = os.path.join(out, "bert-base-random")
    if not os.path.exists(os.path.join(bert, "model.safetensors")):
        import transformers
        cfg = transformers.BertConfig(vocab_size=30522, hidden_size=768, num_hidden_layers=12,
                                      num_attention_heads=12, intermediate_size=3072, hidden_act="gelu",
                                      max_position_embeddings=512, type_vocab_size=2, pad_token_id=0)
        torch.manual_seed(2025)
        model = transformers.BertModel(cfg, add_pooling_layer=True)
        os.makedirs(bert, exist_ok=True)
        cfg.save_pretrained(bert)
        save_file({k: v.contiguous() for k, v in model.state_dict().items()},
                  os.path.join(bert, "model.safetensors"), metadata={"format": "pt"})
        print(f"wrote {bert}", file=sys.stderr)

    llama = os.path.join(out, "llama31-8b-layer")
    if not os.path.exists(os.path.join(llama, "model.safetensors")):
        D, NH, NKV, HD, FF = 4096, 32, 8, 128, 14336
        cfg = {
            "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": D,
            "intermediate_size": FF, "num_attention_heads": NH, "num_key_value_heads": NKV,
            "head_dim": HD, "num_hidden_layers": 1, "rms_norm_eps": 1e-5, "hidden_act": "silu",
            "vocab_size": 128256, "max_position_embeddings": 131072, "attention_bias": False,
            "mlp_bias": False, "tie_word_embeddings": False, "initializer_range": 0.02,
            "rope_parameters": {"rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0,
                                "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                "original_max_position_embeddings": 8192},
        }
        os.makedirs(llama, exist_ok=True)
        with open(os.path.join(llama, "config.json"), "w") as f:
            json.dump(cfg, f, indent=2)
        p = "model.layers.0."
        shapes = {"self_attn.q_proj.weight": (NH * HD, D), "self_attn.k_proj.weight": (NKV * HD, D),
                  "self_attn.v_proj.weight": (NKV * HD, D), "self_attn.o_proj.weight": (D, NH * HD),
                  "mlp.gate_proj.weight": (FF, D), "mlp.up_proj.weight": (FF, D),
                  "mlp.down_proj.weight": (D, FF)}
        t = {p + k: (0.02 * torch.randn(s, generator=gen)).to(torch.bfloat16) for k, s in shapes.items()}
        for k in ("input_layernorm.weight", "post_attention_layernorm.weight"):
            t[p + k] = (1.0 + 0.1 * torch.randn(D, generator=gen)).to(torch.bfloat16)
        save_file(t, os.path.join(llama, "model.safetensors"), metadata={"format": "pt"})
        print(f"wrote {llama}", file=sys.stderr)


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def build(slm_dir, llm_dir):
    import torch
    import transformers
    from safetensors.torch import load_file
    from torch import nn

    slm = transformers.BertModel.from_pretrained(slm_dir, add_pooling_layer=False, dtype=torch.float32)
    C = slm.config.hidden_size
    layer = rotary = None
    D = C
    if llm_dir:
        cfg = transformers.AutoConfig.from_pretrained(llm_dir)
        cfg._attn_implementation = "sdpa"
        cls = {"llama": transformers.models.llama.modeling_llama}[cfg.model_type]
        # layer_idx: the index the tensors carry (an extracted layer keeps its own)
        st = load_file(os.path.join(llm_dir, "model.safetensors"))
        idx = int(next(k for k in st if k.startswith("model.layers.")).split(".")[2])
        layer = cls.LlamaDecoderLayer(cfg, layer_idx=idx)
        pre = f"model.layers.{idx}."
        layer.load_state_dict({k[len(pre):]: v.float() for k, v in st.items() if k.startswith(pre)})
        del st
        layer.float()
        rotary = cls.LlamaRotaryEmbedding(cfg)
        for prm in layer.parameters():
            prm.requires_grad_(False)
        D = cfg.hidden_size

    class PiFi(nn.Module):
        def __init__(self):
            super().__init__()
            self.slm = slm
            self.llm = layer
            self.rotary = rotary
            self.l_in = nn.Linear(C, D, bias=False) if layer is not None else None
            self.l_out = nn.Linear(D, C, bias=False) if layer is not None else None
            self.head = nn.Sequential(nn.Linear(C, C), nn.Dropout(0.2), nn.GELU(), nn.Linear(C, 2))

        def forward(self, ids, mask, types):
            h = self.slm(input_ids=ids, attention_mask=mask, token_type_ids=types).last_hidden_state
            u = h[:, 0:1]
            if self.llm is not None:
                x = self.l_in(u)
                pos = torch.zeros((1, 1), dtype=torch.int64)
                pe = self.rotary(x, position_ids=pos)
                z = self.llm(x, attention_mask=None, position_embeddings=pe, position_ids=pos)
                z = z[0] if isinstance(z, tuple) else z
                u = self.l_out(z)
            return self.head(u[:, 0])

    return PiFi()


def run(a):
    import torch

    torch.set_num_threads(a.threads)
    model = build(a.slm, a.llm)
    V = model.slm.config.vocab_size
    g = torch.Generator().manual_seed(7)
    ids = torch.randint(1000, V, (a.batch, a.max_len), generator=g)
    ids[:, 0], ids[:, -1] = 101, 102
    mask = torch.ones_like(ids)
    types = torch.zeros_like(ids)
    labels = torch.randint(0, 2, (a.batch,), generator=g)
    bf16 = a.precision == "bf16"
    times = []
    if a.mode == "train":
        model.train()
        params = [p for p in model.parameters() if p.requires_grad]
        opt = torch.optim.Adam(params, lr=5e-5)
        lossf = torch.nn.CrossEntropyLoss(label_smoothing=0.05)
        for s in range(a.warmup + a.steps):
            t0 = time.perf_counter()
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                loss = lossf(model(ids, mask, types).float(), labels)
            opt.zero_grad(set_to_none=False)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 5.0)
            opt.step()
            if s >= a.warmup:
                times.append(time.perf_counter() - t0)
    else:
        model.eval()
        with torch.inference_mode():
            for s in range(a.warmup + a.steps):
                t0 = time.perf_counter()
                with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                    model(ids, mask, types)
                if s >= a.warmup:
                    times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    print(json.dumps({"impl": "pytorch", "mode": a.mode, "precision": a.precision, "threads": a.threads,
                      "batch": a.batch, "max_len": a.max_len, "steps": a.steps,
                      "examples_per_s": a.batch / med, "step_ms": med * 1e3, "step_ms_min": min(times) * 1e3,
                      "step_ms_max": max(times) * 1e3, "peak_rss_mb": peak_rss_mb(),
                      "torch": torch.__version__}))


def table(path):
    """Markdown tables from run.sh's JSON lines: per cell, the median over the
    processes of each process's median step, and the spread (min..max) of
    those process medians."""
    rows = [json.loads(line) for line in open(path) if line.strip()]
    machine = next((r for r in rows if r.get("config") == "machine"), {})
    gemm = [r for r in rows if r.get("config") == "gemm"]
    peak = {"fp32": max((r["fp32_gflops"] for r in gemm), default=0),
            "bf16": max((r["bf16_gflops"] for r in gemm), default=0)}
    cells = {}
    for r in rows:
        if r.get("config") in ("machine", "gemm"):
            continue
        key = (r["config"], r["mode"], r["batch"])
        cells.setdefault(key, {}).setdefault((r["impl"], r["precision"]), []).append(r)

    def med(rs, k):
        return statistics.median(x[k] for x in rs)

    def spread(rs, k):
        v = [x[k] for x in rs]
        return f"{statistics.median(v):.3g} [{min(v):.3g}..{max(v):.3g}]"

    out = []
    out.append(f"Machine: {machine.get('cpu', '?')}, {machine.get('cores', '?')} cores, "
               f"{machine.get('threads', '?')} threads, OMP_WAIT_POLICY={machine.get('omp_wait_policy', '?')}, load average "
               f"{machine.get('load', '?')} at the start; pifi {machine.get('pifi', '?')}, torch "
               f"{machine.get('torch', '?')}, transformers {machine.get('transformers', '?')}; {machine.get('date', '')}")
    out.append("")
    out.append(f"CPU features: {machine.get('features', '?')}; bf16 here: {machine.get('bf16', '?')}")
    out.append("")
    out.append(f"oneDNN peak (2048^3, best of runs): fp32 {peak['fp32']:.0f} GFLOP/s, bf16 {peak['bf16']:.0f} GFLOP/s "
               f"(ISA {gemm[0]['isa'] if gemm else '?'})")
    out.append("")
    if machine.get("bf16", "native") != "native":
        out.append("This CPU has no native bf16: pifi's bf16 and PyTorch's autocast would both be emulated, so the "
                   "comparison is fp32 against fp32 (the bf16 columns are empty).")
        out.append("")
    impls = [("pifi", "fp32"), ("pifi", "bf16"), ("pytorch", "fp32"), ("pytorch", "bf16")]
    out.append("| config | mode | batch | pifi fp32 | pifi bf16 | PyTorch fp32 | PyTorch bf16 (autocast) "
               "| pifi fp32 / PyTorch fp32 | pifi bf16 / PyTorch bf16 | pifi bf16 / PyTorch fp32 |")
    out.append("|---|---|---|---|---|---|---|---|---|---|")
    for (cfg, mode, batch), c in sorted(cells.items()):
        unit = "ex/s" if batch > 1 else "ms"
        vals = []
        for i in impls:
            rs = c.get(i, [])
            if not rs:
                vals.append("-")
            elif batch > 1:
                vals.append(spread(rs, "examples_per_s"))
            else:
                vals.append(spread(rs, "step_ms"))
        def ratio(a, b):
            if not c.get(a) or not c.get(b):
                return "-"
            if batch > 1:
                return f"{med(c[a], 'examples_per_s') / med(c[b], 'examples_per_s'):.2f}x"
            return f"{med(c[a], 'step_ms') / med(c[b], 'step_ms'):.2f}x latency"
        out.append(f"| {cfg} | {mode} | {batch} ({unit}) | " + " | ".join(vals) + " | "
                   + ratio(("pifi", "fp32"), ("pytorch", "fp32")) + " | "
                   + ratio(("pifi", "bf16"), ("pytorch", "bf16")) + " | "
                   + ratio(("pifi", "bf16"), ("pytorch", "fp32")) + " |")
    out.append("")
    out.append("Peak RSS (MB, median over processes) and the matrix products' FLOP rate as a fraction of the "
               "oneDNN peak of the same precision (PyTorch: the same FLOPs per step as pifi counts, over its step time)")
    out.append("")
    out.append("| config | mode | batch | " + " | ".join(f"{a} {p} RSS" for a, p in impls) + " | "
               + " | ".join(f"{a} {p} GEMM/peak" for a, p in impls) + " |")
    out.append("|---|---|---|" + "---|" * 8)
    for (cfg, mode, batch), c in sorted(cells.items()):
        rss = [f"{med(c[i], 'peak_rss_mb'):.0f}" if c.get(i) else "-" for i in impls]
        fr = []
        for a, p in impls:
            pifi_rows = c.get(("pifi", p))
            rs = c.get((a, p))
            if not rs or not pifi_rows or not peak[p]:
                fr.append("-")
                continue
            gflop = med(pifi_rows, "gemm_gflop_per_step")
            fr.append(f"{gflop / (med(rs, 'step_ms') / 1e3) / peak[p]:.0%}")
        out.append(f"| {cfg} | {mode} | {batch} | " + " | ".join(rss) + " | " + " | ".join(fr) + " |")
    print("\n".join(out))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make-models")
    m.add_argument("dir")
    r = sub.add_parser("run")
    r.add_argument("--slm", required=True)
    r.add_argument("--llm")
    r.add_argument("--mode", choices=["train", "infer"], default="train")
    r.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    r.add_argument("--batch", type=int, default=32)
    r.add_argument("--max-len", type=int, default=100)
    r.add_argument("--threads", type=int, default=os.cpu_count())
    r.add_argument("--steps", type=int, default=10)
    r.add_argument("--warmup", type=int, default=2)
    t = sub.add_parser("table")
    t.add_argument("raw")
    a = ap.parse_args()
    if a.cmd == "make-models":
        make_models(a.dir)
    elif a.cmd == "table":
        table(a.raw)
    else:
        run(a)


if __name__ == "__main__":
    main()
