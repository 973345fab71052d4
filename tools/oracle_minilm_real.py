"""Writes tests/fixtures/minilm_real/: 20 sentences and the [CLS] vectors the real
all-MiniLM-L6-v2 BertModel gives for them (fp32, eval, eager attention).

cls.safetensors: input_ids, attention_mask (I64, 20 x T, padded to the longest
sentence) and cls = last_hidden_state[:, 0] (F32, 20 x 384).

usage: oracle_minilm_real.py --minilm DIR --out tests/fixtures/minilm_real
"""

import argparse
import json
import os
import platform

import tokenizers
import torch
import transformers
from safetensors.torch import save_file

SEED = 0  # nothing random happens; recorded for uniformity

SENTENCES = [
    "Hello world.",
    "Yes.",
    "The cat sat on the mat.",
    "A man is playing a guitar on the street corner while people walk by.",
    "I absolutely loved this movie; the acting was superb and the soundtrack unforgettable!",
    "Stock markets fell sharply on Tuesday after the central bank raised interest rates by half a point.",
    "How do I reset my password if I no longer have access to my email account?",
    "The café on the corner serves crème brûlée and a naïve little rosé.",
    "Great game last night 🏀🔥 can't wait for the next one!",
    "Photosynthesis converts light energy into chemical energy stored in glucose.",
    "She didn't say she'd come, but we're hoping she'll be there.",
    "Machine learning models can be fine-tuned on small datasets to reach strong accuracy.",
    "Two dogs are running through a field of tall grass.",
    "The quick brown fox jumps over the lazy dog.",
    "In 1969, Apollo 11 landed on the Moon, and Neil Armstrong became the first person to walk on its surface.",
    "This product broke after two days. Terrible quality, would not recommend.",
    "What is the capital of Australia?",
    "Although the weather forecast predicted heavy rain throughout the weekend, the outdoor festival "
    "went ahead as planned, and thousands of visitors enjoyed music, food and art from morning until "
    "well after midnight.",
    "Transformers use self-attention to relate every token to every other token in a sequence.",
    "ok",
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minilm", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    torch.manual_seed(SEED)
    os.makedirs(args.out, exist_ok=True)

    tok = transformers.AutoTokenizer.from_pretrained(args.minilm)
    model = transformers.BertModel.from_pretrained(
        args.minilm, attn_implementation="eager", dtype=torch.float32).eval()
    enc = tok(SENTENCES, padding=True, return_tensors="pt")
    with torch.no_grad():
        out = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"],
                    token_type_ids=enc["token_type_ids"])
    cls = out.last_hidden_state[:, 0].float().contiguous()
    save_file({
        "input_ids": enc["input_ids"].to(torch.int64).contiguous(),
        "attention_mask": enc["attention_mask"].to(torch.int64).contiguous(),
        "cls": cls,
    }, os.path.join(args.out, "cls.safetensors"))
    with open(os.path.join(args.out, "sentences.json"), "w", encoding="utf-8") as f:
        json.dump(SENTENCES, f, indent=1, ensure_ascii=False)
        f.write("\n")
    meta = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "tokenizers": tokenizers.__version__,
        "script": "tools/oracle_minilm_real.py",
        "seed": SEED,
        "model": "all-MiniLM-L6-v2 (BertModel, fp32, eval, attn_implementation=eager)",
        "tokenizer": "AutoTokenizer(padding=True), token_type_ids all zero",
        "shape_input_ids": list(enc["input_ids"].shape),
        "shape_cls": list(cls.shape),
    }
    with open(os.path.join(args.out, "meta.json"), "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    print("minilm_real", tuple(enc["input_ids"].shape), "cls", tuple(cls.shape),
          "norm[0] %.4f" % float(cls[0].norm()))


if __name__ == "__main__":
    main()
