"""Writes tests/fixtures/mpnet_real/: 56 sentences and the sentence vectors the
real all-mpnet-base-v2 gives for them, as sentence-transformers computes them
(its modules.json: Transformer -> Pooling(mean) -> Normalize): MPNetModel's
last_hidden_state (fp32, eval, eager attention) averaged over the attention
mask, then scaled to unit length.

vectors.safetensors: input_ids, attention_mask (I64, 56 x T, padded to the
longest sentence), mean (F32, 56 x 768: the mean pooling) and embedding (F32,
56 x 768: mean / max(||mean||, 1e-12), what SentenceTransformer.encode returns).

usage: oracle_mpnet_real.py --mpnet DIR --out tests/fixtures/mpnet_real
       (DIR: scripts/get-models.sh --mpnet puts it in models/all-mpnet-base-v2)
"""

import argparse
import json
import os
import platform
import sys

import tokenizers
import torch
import transformers
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from oracle_minilm_real import SENTENCES as MINILM_SENTENCES  # noqa: E402

SEED = 0  # nothing random happens; recorded for uniformity

SENTENCES = MINILM_SENTENCES + [
    "A woman is slicing a tomato on a wooden cutting board.",
    "The children are playing soccer in the park after school.",
    "Can you recommend a good book about the history of mathematics?",
    "The train to Berlin was delayed by forty-five minutes because of a signal failure.",
    "He plays the violin beautifully.",
    "Nobody expected the small startup to outperform the industry giants.",
    "Der schnelle braune Fuchs springt über den faulen Hund.",
    "Le chat dort sur le canapé depuis ce matin.",
    "東京は日本の首都です。",
    "Why is the sky blue during the day but red at sunset?",
    "The recipe calls for two cups of flour, one egg and a pinch of salt.",
    "I can't believe it's already December!",
    "The committee will announce its decision next Monday at 10 a.m.",
    "Quantum computers exploit superposition and entanglement to solve certain problems faster.",
    "A black cat crossed the road in front of the bus.",
    "Please turn off the lights when you leave the room.",
    "The museum's new exhibition features sculptures from the Bronze Age.",
    "Honestly, the sequel was even better than the original.",
    "Rainfall in the region has dropped by 30% over the past decade.",
    "The patient was discharged from the hospital after three days of observation.",
    "Where can I find the nearest pharmacy that is open on Sundays?",
    "Bees play a crucial role in pollinating crops and wild plants.",
    "The software update fixed the bug that caused the app to crash on startup.",
    "A group of hikers reached the summit just before the storm arrived.",
    "I'm not sure whether to take the job offer or stay where I am.",
    "The orchestra performed Beethoven's Ninth Symphony to a sold-out audience.",
    "Mix the paint thoroughly before applying it to the wall.",
    "Electric cars are becoming cheaper as battery technology improves, and many cities are building "
    "charging stations along major roads and in residential neighbourhoods.",
    "The defendant pleaded not guilty to all charges.",
    "A little girl is blowing out the candles on her birthday cake.",
    "Is it safe to drink tap water in this city?",
    "The volcano erupted, sending ash several kilometres into the atmosphere.",
    "Her presentation was clear, concise and persuasive.",
    "@user thanks for the follow!! #blessed",
    "   Leading and trailing spaces, and    runs of spaces.   ",
    "UPPERCASE TEXT SHOULD BE LOWERCASED BY THE TOKENIZER.",
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mpnet", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    torch.manual_seed(SEED)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.mpnet, "modules.json"), encoding="utf-8") as f:
        modules = [m["type"].rsplit(".", 1)[-1] for m in json.load(f)]
    with open(os.path.join(args.mpnet, "1_Pooling", "config.json"), encoding="utf-8") as f:
        pooling = json.load(f)
    if modules != ["Transformer", "Pooling", "Normalize"] or not pooling["pooling_mode_mean_tokens"]:
        raise RuntimeError(f"not the mean pooling + Normalize pipeline: {modules} {pooling}")

    tok = transformers.AutoTokenizer.from_pretrained(args.mpnet)
    model = transformers.MPNetModel.from_pretrained(
        args.mpnet, attn_implementation="eager", dtype=torch.float32).eval()
    enc = tok(SENTENCES, padding=True, truncation=True, max_length=384, return_tensors="pt")
    with torch.no_grad():
        h = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).last_hidden_state
    m = enc["attention_mask"].unsqueeze(-1).float()
    mean = ((h * m).sum(1) / torch.clamp(m.sum(1), min=1e-9)).float().contiguous()
    emb = torch.nn.functional.normalize(mean, p=2, dim=1).contiguous()
    save_file({
        "input_ids": enc["input_ids"].to(torch.int64).contiguous(),
        "attention_mask": enc["attention_mask"].to(torch.int64).contiguous(),
        "mean": mean,
        "embedding": emb,
    }, os.path.join(args.out, "vectors.safetensors"))
    with open(os.path.join(args.out, "sentences.json"), "w", encoding="utf-8") as f:
        json.dump(SENTENCES, f, indent=1, ensure_ascii=False)
        f.write("\n")
    meta = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "tokenizers": tokenizers.__version__,
        "script": "tools/oracle_mpnet_real.py",
        "seed": SEED,
        "model": "all-mpnet-base-v2 (MPNetModel, fp32, eval, attn_implementation=eager), "
                 "model.safetensors SHA-256 78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658",
        "pipeline": "sentence-transformers modules.json: " + " -> ".join(modules) +
                    "; mean over attention_mask, clamp 1e-9; F.normalize(p=2, eps=1e-12)",
        "tokenizer": "AutoTokenizer(padding=True, truncation max_length 384: sentence_bert_config)",
        "shape_input_ids": list(enc["input_ids"].shape),
        "shape_mean": list(mean.shape),
    }
    with open(os.path.join(args.out, "meta.json"), "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    print("mpnet_real", tuple(enc["input_ids"].shape), "mean", tuple(mean.shape),
          "|mean[0]| %.4f" % float(mean[0].norm()))


if __name__ == "__main__":
    main()
