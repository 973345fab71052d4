"""Writes tests/fixtures/decoders/real_<name>/io.safetensors: the last hidden
state of a real decoder-only model kept as a quantized GGUF, computed by
torch's LlamaModel / Qwen2Model (eager attention, fp32) from the same
weights dequantized by the gguf package (transformers' GGUF loader:
gguf.dequantize, Q/K un-permuted for llama), for a right-padded batch of
token ids. pifi's decoder family must give the same within 1e-3
(tests/test_decoder_real.c).

  input_ids, attention_mask (2, 9)    random ids, the second row padded after 5
  last_hidden_state (2, 9, C)

usage: oracle_decoder_real.py --gguf FILE --name smollm2 --out tests/fixtures/decoders
"""

import argparse
import hashlib
import json
import os

import torch
import transformers
from safetensors.torch import save_file


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gguf", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    transformers.logging.set_verbosity_error()
    torch.set_num_threads(2)
    d, f = os.path.split(os.path.abspath(args.gguf))
    model = transformers.AutoModel.from_pretrained(d, gguf_file=f, torch_dtype=torch.float32,
                                                   attn_implementation="eager").eval()
    gen = torch.Generator().manual_seed(1234)
    B, T = 2, 9
    ids = torch.randint(100, model.config.vocab_size - 100, (B, T), generator=gen)
    mask = torch.ones((B, T), dtype=torch.int64)
    mask[1, 5:] = 0
    ids[1, 5:] = 0
    with torch.no_grad():
        h = model(input_ids=ids, attention_mask=mask).last_hidden_state
    out = os.path.join(args.out, "real_" + args.name)
    os.makedirs(out, exist_ok=True)
    save_file({"input_ids": ids.float(), "attention_mask": mask.float(),
               "last_hidden_state": h.float().contiguous()}, os.path.join(out, "io.safetensors"))
    sha = hashlib.sha256(open(args.gguf, "rb").read()).hexdigest()
    with open(os.path.join(out, "meta.json"), "w", encoding="utf-8") as fo:
        json.dump({"script": "tools/oracle_decoder_real.py", "gguf": f, "gguf_sha256": sha,
                   "model_class": type(model).__name__, "torch": torch.__version__,
                   "transformers": transformers.__version__, "dtype": "float32",
                   "attn_implementation": "eager", "batch": B, "seq_len": T, "lengths": [T, 5],
                   "abs_max_last_hidden_state": float(h.abs().max())}, fo, indent=2)
        fo.write("\n")
    print(args.name, type(model).__name__, "max |h|", float(h.abs().max()))


if __name__ == "__main__":
    main()
