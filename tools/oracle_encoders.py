"""Writes tests/fixtures/encoders/<name>/: a tiny randomly initialised encoder
(config.json + model.safetensors, as transformers saves them) and io.safetensors
with a padded input batch and the fp32 eager-attention outputs of transformers.

Weights are drawn with a larger spread than the default init (normal std 0.2,
LayerNorm weights 1 +- 0.1, nonzero biases) so a wrong op shows in the output.

usage: oracle_encoders.py --out tests/fixtures/encoders
"""

import argparse
import json
import os
import platform
import shutil

import tokenizers
import torch
import transformers
from safetensors.torch import save_file

SEED = 4321
B, T = 3, 12
LENGTHS = [12, 9, 5]  # real tokens per row; the rest is padding


def versions():
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "tokenizers": tokenizers.__version__,
    }


def specs():
    common = dict(type_vocab_size=2, max_position_embeddings=64, hidden_dropout_prob=0.0,
                  attention_probs_dropout_prob=0.0, layer_norm_eps=1e-12)
    return {
        "bert_tiny": (transformers.BertModel, transformers.BertConfig(
            vocab_size=1000, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
            intermediate_size=64, hidden_act="gelu", pad_token_id=0, **common)),
        "bert_gelu_new": (transformers.BertModel, transformers.BertConfig(
            vocab_size=1000, hidden_size=32, num_hidden_layers=3, num_attention_heads=4,
            intermediate_size=64, hidden_act="gelu_new", pad_token_id=0, **common)),
        "roberta_tiny": (transformers.RobertaModel, transformers.RobertaConfig(
            vocab_size=1000, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
            intermediate_size=64, hidden_act="gelu", pad_token_id=1, bos_token_id=0,
            eos_token_id=2, type_vocab_size=1, max_position_embeddings=66,
            hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, layer_norm_eps=1e-5)),
        "electra_tiny": (transformers.ElectraModel, transformers.ElectraConfig(
            vocab_size=1000, embedding_size=16, hidden_size=32, num_hidden_layers=2,
            num_attention_heads=4, intermediate_size=64, hidden_act="gelu", pad_token_id=0, **common)),
        "minilm_tiny": (transformers.BertModel, transformers.BertConfig(
            vocab_size=1000, hidden_size=48, num_hidden_layers=3, num_attention_heads=12,
            intermediate_size=96, hidden_act="gelu", pad_token_id=0, **common)),
    }


def init_weights(model, gen):
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=gen)
            if "LayerNorm.weight" in name:
                p.copy_(1.0 + 0.1 * noise)
            elif "LayerNorm.bias" in name:
                p.copy_(0.1 * noise)
            else:
                p.copy_(0.2 * noise)


def make_inputs(cfg, gen):
    pad = cfg.pad_token_id
    ids = torch.full((B, T), pad, dtype=torch.int64)
    mask = torch.zeros((B, T), dtype=torch.int64)
    types = torch.zeros((B, T), dtype=torch.int64)
    for b, n in enumerate(LENGTHS):
        ids[b, :n] = torch.randint(5, cfg.vocab_size, (n,), generator=gen)  # never the pad id
        mask[b, :n] = 1
        if cfg.type_vocab_size > 1:
            cut = int(torch.randint(1, n, (1,), generator=gen)) if n > 1 else n
            types[b, cut:n] = 1  # sentence A then sentence B, like a real pair
            types[b, :n] ^= (torch.rand(n, generator=gen) < 0.2).long()  # and some random flips
    return ids, mask, types


def build_one(name, cls, cfg, out_dir):
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED + sum(map(ord, name)))
    cfg._attn_implementation = "eager"
    model = cls(cfg)
    init_weights(model, gen)
    model.eval()
    ids, mask, types = make_inputs(cfg, gen)
    with torch.no_grad():
        out = model(input_ids=ids, attention_mask=mask, token_type_ids=types)
    model.save_pretrained(out_dir)

    # the checkpoint read back must give the same numbers
    again = cls.from_pretrained(out_dir, attn_implementation="eager").eval()
    with torch.no_grad():
        out2 = again(input_ids=ids, attention_mask=mask, token_type_ids=types)
    if not torch.equal(out.last_hidden_state, out2.last_hidden_state):
        raise RuntimeError(name + ": reloaded checkpoint gives different outputs")

    io = {
        "input_ids": ids.contiguous(),
        "attention_mask": mask.contiguous(),
        "token_type_ids": types.contiguous(),
        "last_hidden_state": out.last_hidden_state.float().contiguous(),
    }
    if getattr(out, "pooler_output", None) is not None:
        io["pooler_output"] = out.pooler_output.float().contiguous()
    save_file(io, os.path.join(out_dir, "io.safetensors"))

    meta = versions()
    meta.update({
        "script": "tools/oracle_encoders.py",
        "seed": SEED,
        "model_class": cls.__name__,
        "attn_implementation": "eager",
        "dtype": "float32",
        "init": "normal std 0.2; LayerNorm weight 1 + 0.1 N(0,1), bias 0.1 N(0,1)",
        "batch": B,
        "seq_len": T,
        "lengths": LENGTHS,
        "outputs": sorted(io),
        "abs_max_last_hidden_state": float(out.last_hidden_state.abs().max()),
    })
    with open(os.path.join(out_dir, "meta.json"), "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    size = sum(os.path.getsize(os.path.join(out_dir, f)) for f in os.listdir(out_dir))
    print(name, "params", sum(p.numel() for p in model.parameters()), "bytes", size)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    torch.use_deterministic_algorithms(True)
    for name, (cls, cfg) in specs().items():
        d = os.path.join(args.out, name)
        if os.path.isdir(d):
            shutil.rmtree(d)
        os.makedirs(d)
        build_one(name, cls, cfg, d)


if __name__ == "__main__":
    main()
