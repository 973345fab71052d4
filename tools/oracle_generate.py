"""Writes tests/fixtures/seq2seq/generate.json: transformers' generate() on
the tiny T5 and BART checkpoints of tests/fixtures/seq2seq/ (written by
oracle_t5.py and oracle_bart.py), for tests/test_s2s_generate.c.

For each model, 50 sources of 1 to 10 random ids (right-padded, with the
attention mask) and generate()'s sequences (the decoder start token first,
padding after the end-of-sequence token) for greedy search and for beam
search settings (num_beams, length_penalty, early_stopping,
no_repeat_ngram_size, min_new_tokens), max_new_tokens 12. Every other
logits processor is off (forced BOS/EOS, repetition penalty), so the
reference is the search itself. use_cache=False: transformers 5.24's
encoder-decoder cache fails on the v1.1 fixture (IndexError in
cache_utils); the cache changes nothing in the numbers. bart_eos is
bart_relu with EOS_BIAS added to its final_logits_bias at the end-of-sequence
token (written here, as a checkpoint beside the others): random models
seldom end a sequence, and the search's finishing rules (early stopping,
the length penalty of finished beams, min_new_tokens) only act when they do. "min_gap" is the
smallest difference between the two best scores over every greedy step,
how far the fixture is from a tie.

usage: oracle_generate.py --fixtures tests/fixtures/seq2seq
"""

import argparse
import json
import os

import torch
from transformers import AutoModelForSeq2SeqLM

MODELS = ["t5_v10", "t5_v11", "bart_gelu", "bart_relu", "bart_eos"]
EOS_BIAS = 0.8  # bart_eos: bart_relu with final_logits_bias[eos] raised, so that beams end early
BEAMS = [
    {"num_beams": 4, "length_penalty": 1.0, "early_stopping": False, "no_repeat_ngram_size": 0, "min_new_tokens": 0},
    {"num_beams": 3, "length_penalty": 0.6, "early_stopping": True, "no_repeat_ngram_size": 2, "min_new_tokens": 0},
    {"num_beams": 5, "length_penalty": 2.0, "early_stopping": "never", "no_repeat_ngram_size": 0, "min_new_tokens": 3},
    {"num_beams": 4, "length_penalty": 1.0, "early_stopping": True, "no_repeat_ngram_size": 0, "min_new_tokens": 4},
    {"num_beams": 2, "length_penalty": 0.0, "early_stopping": "never", "no_repeat_ngram_size": 3, "min_new_tokens": 1},
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fixtures", required=True)
    a = ap.parse_args()
    out = {"transformers": __import__("transformers").__version__, "max_new_tokens": 12, "models": []}
    base = AutoModelForSeq2SeqLM.from_pretrained(os.path.join(a.fixtures, "bart_relu")).eval()
    with torch.no_grad():
        base.final_logits_bias[0, base.config.eos_token_id] += EOS_BIAS
    base.save_pretrained(os.path.join(a.fixtures, "bart_eos"), safe_serialization=True)
    for name in MODELS:
        m = AutoModelForSeq2SeqLM.from_pretrained(os.path.join(a.fixtures, name)).eval()
        c = m.config
        g = torch.Generator().manual_seed(1234)
        ids = torch.randint(3, c.vocab_size, (50, 10), generator=g)
        mask = torch.ones_like(ids)
        for i in range(50):
            n = 1 + (i * 7) % 10
            mask[i, n:] = 0
            ids[i, n:] = c.pad_token_id
        common = dict(input_ids=ids, attention_mask=mask, do_sample=False, max_new_tokens=12, use_cache=False,
                      forced_bos_token_id=None, forced_eos_token_id=None, repetition_penalty=1.0,
                      pad_token_id=c.pad_token_id, eos_token_id=c.eos_token_id,
                      decoder_start_token_id=c.decoder_start_token_id)
        with torch.no_grad():
            gr = m.generate(num_beams=1, no_repeat_ngram_size=0, min_new_tokens=0, output_scores=True,
                            return_dict_in_generate=True, **common)
            gaps = torch.stack([s.topk(2, dim=-1).values.diff(dim=-1).abs().squeeze(-1) for s in gr.scores], 1)
            beams = []
            for b in BEAMS:
                seq = m.generate(**b, **common)
                beams.append(dict(b, sequences=seq.tolist()))
        out["models"].append({"name": name, "input_ids": ids.tolist(), "attention_mask": mask.tolist(),
                              "greedy": gr.sequences.tolist(), "min_gap": gaps.min().item(), "beam": beams})
        ended = sum(1 for r in gr.sequences.tolist() if c.eos_token_id in r[1:])
        print(name, "min gap", gaps.min().item(), "greedy ended early:", ended, "of 50")
    with open(os.path.join(a.fixtures, "generate.json"), "w") as f:
        json.dump(out, f)
        f.write("\n")


if __name__ == "__main__":
    main()
