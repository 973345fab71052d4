#!/usr/bin/env python3
"""make_select_layer_fixture.py: a tiny Llama whose layers are all noise but one,
for `pifi select-layer`'s tests (tests/test_select_layer.c, tests/cli/select_layer.sh).

    python3 tools/make_select_layer_fixture.py tests/fixtures/select_layer/llm

Five layers of hidden size 16 (2 query heads, 1 key/value head of 8, MLP 32).
Layer INFORMATIVE (3) has every matrix near 0 (normal, std 1e-3): in PiFi's
pooled path its output is its input, so L_in's vector reaches L_out intact.
Every other layer has large MLP matrices (normal, std NOISE = 3): its output
adds a vector some thousands of times larger than its input, a fixed
nonlinear function of the input's direction only (the RMSNorm before the MLP
removes the scale), which drowns the input for a probe of a short budget.
A ranking that works puts layer 3 first; one that does not has four chances
in five of not doing so.

Standard library only (the safetensors format written by hand: an 8-byte
little-endian header length, the JSON header padded with spaces to 8 bytes,
then the raw little-endian float32 data), seeded, so the bytes are the same
on every machine.
"""
import json
import os
import random
import struct
import sys

D, NH, NKV, HD, FF, LAYERS, VOCAB = 16, 2, 1, 8, 32, 5, 8
INFORMATIVE, NOISE, QUIET, SEED = 3, 3.0, 1e-3, 20260101


def main(out):
    rng = random.Random(SEED)
    tensors = []  # (name, shape, values)

    def normal(name, shape, std):
        n = 1
        for s in shape:
            n *= s
        tensors.append((name, shape, [rng.gauss(0.0, std) for _ in range(n)]))

    normal("model.embed_tokens.weight", [VOCAB, D], 1.0)
    for k in range(LAYERS):
        p = f"model.layers.{k}."
        attn = QUIET if k == INFORMATIVE else 0.3
        mlp = QUIET if k == INFORMATIVE else NOISE
        tensors.append((p + "input_layernorm.weight", [D], [1.0] * D))
        tensors.append((p + "post_attention_layernorm.weight", [D], [1.0] * D))
        normal(p + "self_attn.q_proj.weight", [NH * HD, D], attn)
        normal(p + "self_attn.k_proj.weight", [NKV * HD, D], attn)
        normal(p + "self_attn.v_proj.weight", [NKV * HD, D], attn)
        normal(p + "self_attn.o_proj.weight", [D, NH * HD], attn)
        normal(p + "mlp.gate_proj.weight", [FF, D], mlp)
        normal(p + "mlp.up_proj.weight", [FF, D], mlp)
        normal(p + "mlp.down_proj.weight", [D, FF], mlp)
    tensors.append(("model.norm.weight", [D], [1.0] * D))

    header, offset, blobs = {}, 0, []
    for name, shape, values in tensors:
        blob = struct.pack(f"<{len(values)}f", *values)
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    header["__metadata__"] = {"format": "pt", "made_by": "tools/make_select_layer_fixture.py",
                              "informative_layer": str(INFORMATIVE)}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
    config = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": D,
        "intermediate_size": FF, "num_attention_heads": NH, "num_key_value_heads": NKV, "head_dim": HD,
        "num_hidden_layers": LAYERS, "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "vocab_size": VOCAB,
        "max_position_embeddings": 64, "hidden_act": "silu", "tie_word_embeddings": False,
        "torch_dtype": "float32",
        "pifi_fixture": {"informative_layer": INFORMATIVE, "noise_mlp_std": NOISE, "quiet_std": QUIET,
                         "seed": SEED, "script": "tools/make_select_layer_fixture.py"},
    }
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/select_layer/llm")
