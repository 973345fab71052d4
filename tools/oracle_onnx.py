"""Writes tests/fixtures/onnx/<case>/: ONNX Runtime's logits for the model
that `pifi export --format onnx` writes of a run, so tests/test_onnx_export.c
can check that pifi's own logits for the same batch equal them.

Each case is a run that `pifi train` makes deterministically on any CPU: the
real all-MiniLM-L6-v2 (and for PiFi SmolLM2-135M-Instruct's last layer),
one step at learning rate 0 on 64 SST-2 rows, so its weights are the
pretrained ones and the seeded initialisation of L_in, L_out and the head.
The test trains the same run from meta.json's arguments, exports it, checks
that the ONNX file's SHA-256 is the one recorded here (the graph ONNX Runtime
ran), and compares the logits.

<case>/meta.json: train arguments, texts, the ONNX file's SHA-256, versions.
<case>/ort.safetensors: input_ids, attention_mask, token_type_ids (I64,
B x T, padded to the longest text, tokenized by the run's tokenizer.json
with HF tokenizers) and logits (F32, B x K) from onnxruntime's CPU provider.

usage: oracle_onnx.py --pifi build/pifi --models models --data ../shared/data --out tests/fixtures/onnx
"""

import argparse
import hashlib
import json
import os
import platform
import subprocess
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
import tokenizers
from safetensors.numpy import save_file

TEXTS = [
    "a gripping, funny and moving film",
    "dull",
    "the worst movie i have seen this year, and i have seen a lot of bad ones.",
    "",
    "Not bad at all — a surprisingly tender comédie with a great cast!",
    "it's long",
]

SLM = "all-MiniLM-L6-v2"
LLM = "SmolLM2-135M-Instruct.Q4_1.gguf"

# case: (method, pooling); the run's other options are the common ones below
CASES = {
    "minilm_base": ("base", "cls"),
    "minilm_pifi": ("pifi", "cls"),
    "minilm_pifi_mean": ("pifi", "mean"),
    "minilm_base_last": ("base", "last"),
}
COMMON = ["--epochs", "1", "--max-steps", "1", "--lr", "0", "--batch", "32", "--precision", "fp32", "--seed", "7"]


def train_args(method, pooling):
    """pifi train's arguments with {models} and {train} placeholders (the test fills them)."""
    a = ["--slm", "{models}/" + SLM, "--method", method, "--pooling", pooling]
    if method != "base":
        a += ["--llm", "{models}/" + LLM, "--layer", "-1"]
    return a + ["--train", "{train}"] + COMMON


def sst2_tsv(data, path, n=64):
    with open(os.path.join(data, "sst2", "stsa.binary.train")) as f, open(path, "w") as o:
        o.write("text\tlabel\n")
        for i, line in enumerate(f):
            if i >= n:
                break
            label, text = line.rstrip("\n").split(" ", 1)
            o.write(f"{text}\t{label}\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pifi", required=True)
    ap.add_argument("--models", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        train = os.path.join(tmp, "train.tsv")
        sst2_tsv(args.data, train)
        for case, (method, pooling) in CASES.items():
            targs = train_args(method, pooling)
            run, model = os.path.join(tmp, case), os.path.join(tmp, case + "_onnx", "model.onnx")
            filled = [a.format(models=os.path.abspath(args.models), train=train) for a in targs]
            subprocess.run([args.pifi, "train", *filled, "-o", run], check=True, capture_output=True)
            os.makedirs(os.path.dirname(model))
            subprocess.run([args.pifi, "export", run, "--format", "onnx", "-o", model], check=True)
            onnx.checker.check_model(model, full_check=True)
            tk = tokenizers.Tokenizer.from_file(os.path.join(os.path.dirname(model), "tokenizer.json"))
            tk.enable_truncation(100)
            tk.enable_padding(pad_id=0, pad_token="[PAD]")
            enc = tk.encode_batch(TEXTS)
            feed = {
                "input_ids": np.array([e.ids for e in enc], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in enc], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids for e in enc], dtype=np.int64),
            }
            sess = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
            (logits,) = sess.run(["logits"], feed)
            with open(model, "rb") as f:
                sha = hashlib.sha256(f.read()).hexdigest()
            meta_props = {p.key: p.value for p in onnx.load(model, load_external_data=False).metadata_props}
            out = os.path.join(args.out, case)
            os.makedirs(out, exist_ok=True)
            save_file({**feed, "logits": logits.astype(np.float32)}, os.path.join(out, "ort.safetensors"))
            meta = {
                "train_args": targs,
                "texts": TEXTS,
                "onnx_sha256": sha,
                "onnx_metadata": meta_props,
                "versions": {
                    "python": platform.python_version(),
                    "onnx": onnx.__version__,
                    "onnxruntime": ort.__version__,
                    "tokenizers": tokenizers.__version__,
                    "numpy": np.__version__,
                },
            }
            with open(os.path.join(out, "meta.json"), "w") as f:
                json.dump(meta, f, indent=1, ensure_ascii=False)
                f.write("\n")
            print(case, logits.shape, sha[:12])


if __name__ == "__main__":
    main()
