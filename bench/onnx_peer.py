#!/usr/bin/env python3
"""onnx_peer.py: ONNX Runtime's inference time on a model `pifi export
--format onnx` wrote, with the shapes `pifi bench --mode infer` uses: a batch
of --batch examples of --max-len real tokens (random ids, all-ones mask), the
CPU execution provider with --threads intra-op threads, one session, --warmup
untimed runs then --steps timed ones. Prints one JSON line like bench.py's.

  python bench/onnx_peer.py model.onnx --batch 32 --max-len 128 --threads 2
  python bench/onnx_peer.py model.onnx --int8 ...   # ONNX Runtime's dynamic
      int8 quantization of the model (quantize_dynamic, written once beside it)

Needs onnxruntime (PyPI); bench/onnx.sh runs it against pifi.
"""
import argparse
import json
import os
import resource
import statistics
import time


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def int8_model(path):
    from onnxruntime.quantization import QuantType, quantize_dynamic

    out = path[: -len(".onnx")] + ".int8.onnx"
    if not os.path.exists(out) or os.path.getmtime(out) < os.path.getmtime(path):
        quantize_dynamic(path, out, weight_type=QuantType.QInt8)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--max-len", type=int, default=100)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--vocab", type=int, default=30000, help="ids are drawn from 1000..vocab-1")
    ap.add_argument("--int8", action="store_true")
    a = ap.parse_args()
    import numpy as np
    import onnxruntime as ort

    path = int8_model(a.model) if a.int8 else a.model
    so = ort.SessionOptions()
    so.intra_op_num_threads = a.threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    t0 = time.perf_counter()
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    load_s = time.perf_counter() - t0
    rng = np.random.default_rng(7)
    feed = {"input_ids": rng.integers(1000, a.vocab, (a.batch, a.max_len), dtype=np.int64),
            "attention_mask": np.ones((a.batch, a.max_len), dtype=np.int64)}
    if "token_type_ids" in [i.name for i in sess.get_inputs()]:
        feed["token_type_ids"] = np.zeros((a.batch, a.max_len), dtype=np.int64)
    times = []
    for s in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        sess.run(["logits"], feed)
        if s >= a.warmup:
            times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    print(json.dumps({"impl": "onnxruntime", "mode": "infer", "precision": "int8" if a.int8 else "fp32",
                      "threads": a.threads, "batch": a.batch, "max_len": a.max_len, "steps": a.steps,
                      "examples_per_s": a.batch / med, "step_ms": med * 1e3, "step_ms_min": min(times) * 1e3,
                      "step_ms_max": max(times) * 1e3, "peak_rss_mb": peak_rss_mb(), "load_s": load_s,
                      "onnxruntime": ort.__version__}))


if __name__ == "__main__":
    main()
