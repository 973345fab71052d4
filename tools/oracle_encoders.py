"""Writes tests/fixtures/encoders/<name>/: a tiny randomly initialised encoder
(config.json + model.safetensors, as transformers saves them) and io.safetensors
with a padded input batch and the fp32 eager-attention outputs of transformers.
For the MPNet, ALBERT and ModernBERT ones also grads.safetensors: the
gradient of every parameter (HF names) of the loss sum(last_hidden_state *
dout) for a fixed random dout (written too; ModernBERT's zero at padding,
whose outputs transformers leaves unspecified); for MPNet io.safetensors' relative_position /
relative_position_bucket: MPNetEncoder.relative_position_bucket of every
relative position -600..600.

Weights are drawn with a larger spread than the default init (normal std 0.2,
LayerNorm weights 1 +- 0.1, nonzero biases) so a wrong op shows in the output.

usage: oracle_encoders.py --out tests/fixtures/encoders [--only NAME ...]
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
        # MPNet: no token types, positions from padding_idx 1 + 1, one relative
        # position bias table shared by the layers (buckets from 32 whatever the
        # table's rows: transformers' compute_position_bias)
        "mpnet_tiny": (transformers.MPNetModel, transformers.MPNetConfig(
            vocab_size=1000, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
            intermediate_size=64, hidden_act="gelu", pad_token_id=1, bos_token_id=0,
            eos_token_id=2, max_position_embeddings=66, relative_attention_num_buckets=32,
            hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, layer_norm_eps=1e-5)),
        # long rows reach every bucket (relative distances up to 149 > max_distance 128);
        # 40 rows in the table, of which transformers uses the first 32
        "mpnet_long": (transformers.MPNetModel, transformers.MPNetConfig(
            vocab_size=1000, hidden_size=48, num_hidden_layers=3, num_attention_heads=6,
            intermediate_size=96, hidden_act="gelu_new", pad_token_id=1, bos_token_id=0,
            eos_token_id=2, max_position_embeddings=160, relative_attention_num_buckets=40,
            hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, layer_norm_eps=1e-5)),
        # ALBERT: factorized embeddings (E -> C through embedding_hidden_mapping_in, there
        # even when E == C), one layer's weights run num_hidden_layers times; vocab 2000 as
        # tokenizers/albert_unigram (tests/cli/albert_train.sh trains on it)
        "albert_tiny": (transformers.AlbertModel, transformers.AlbertConfig(
            vocab_size=2000, embedding_size=16, hidden_size=32, num_hidden_layers=3,
            num_attention_heads=4, intermediate_size=64, hidden_act="gelu_new", pad_token_id=0,
            **common)),
        "albert_square": (transformers.AlbertModel, transformers.AlbertConfig(
            vocab_size=300, embedding_size=24, hidden_size=24, num_hidden_layers=2,
            num_attention_heads=3, intermediate_size=40, hidden_act="gelu", pad_token_id=0,
            type_vocab_size=3, max_position_embeddings=40, hidden_dropout_prob=0.0,
            attention_probs_dropout_prob=0.0, layer_norm_eps=1e-5)),
        # ModernBERT: pre-norm, packed Wqkv, RoPE (small thetas, so short rows see
        # them), full attention every global_attn_every_n_layers-th layer, the others
        # within local_attention / 2 of the query, GeGLU; vocabulary 3000 with pad id 1
        # as tokenizers/roberta_bpe (tests/cli/modernbert_train.sh trains on it)
        "modernbert_tiny": (transformers.ModernBertModel, transformers.ModernBertConfig(
            vocab_size=3000, hidden_size=32, num_hidden_layers=4, num_attention_heads=4,
            intermediate_size=48, hidden_activation="gelu", max_position_embeddings=64,
            local_attention=6, global_attn_every_n_layers=2, global_rope_theta=1000.0,
            local_rope_theta=50.0, pad_token_id=1, bos_token_id=0, eos_token_id=2,
            cls_token_id=0, sep_token_id=2, norm_eps=1e-5)),
        # every bias on, 3 layers (one global), head size 12, a longer padded batch
        "modernbert_bias": (transformers.ModernBertModel, transformers.ModernBertConfig(
            vocab_size=300, hidden_size=24, num_hidden_layers=3, num_attention_heads=2,
            intermediate_size=40, hidden_activation="gelu_new", max_position_embeddings=64,
            local_attention=4, global_attn_every_n_layers=3, global_rope_theta=500.0,
            local_rope_theta=20.0, pad_token_id=0, bos_token_id=1, eos_token_id=2,
            cls_token_id=1, sep_token_id=2, norm_eps=1e-6, attention_bias=True,
            mlp_bias=True, norm_bias=True)),
    }


# the families whose fixtures get grads.safetensors
GRAD_CLASSES = (transformers.MPNetModel, transformers.AlbertModel, transformers.ModernBertModel)

# the batch of each fixture: (B, T, real tokens per row); the rest is padding
SHAPES = {"mpnet_long": (2, 150, [150, 97]), "albert_square": (2, 20, [20, 7]),
          "modernbert_bias": (3, 20, [20, 13, 3])}


def init_weights(model, gen):
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=gen)
            if "LayerNorm.weight" in name or "norm.weight" in name:
                p.copy_(1.0 + 0.1 * noise)
            elif "LayerNorm.bias" in name or "norm.bias" in name:
                p.copy_(0.1 * noise)
            else:
                p.copy_(0.2 * noise)


def make_inputs(cfg, gen, shape):
    B, T, LENGTHS = shape
    pad = cfg.pad_token_id
    ids = torch.full((B, T), pad, dtype=torch.int64)
    mask = torch.zeros((B, T), dtype=torch.int64)
    types = torch.zeros((B, T), dtype=torch.int64)
    for b, n in enumerate(LENGTHS):
        ids[b, :n] = torch.randint(5, cfg.vocab_size, (n,), generator=gen)  # never the pad id
        mask[b, :n] = 1
        if getattr(cfg, "type_vocab_size", 0) > 1:
            cut = int(torch.randint(1, n, (1,), generator=gen)) if n > 1 else n
            types[b, cut:n] = 1  # sentence A then sentence B, like a real pair
            types[b, :n] ^= (torch.rand(n, generator=gen) < 0.2).long()  # and some random flips
    return ids, mask, types


def write_grads(model, ids, mask, kw, gen, out_dir):
    """grads.safetensors: dout and the gradient of sum(last_hidden_state * dout)
    with respect to every parameter, under the checkpoint's names."""
    h = model(input_ids=ids, attention_mask=mask, **kw).last_hidden_state
    dout = torch.randn(h.shape, generator=gen)
    if isinstance(model, transformers.ModernBertModel):
        dout = dout * mask[:, :, None]  # padding's outputs are unspecified (the unpadded path has none)
    model.zero_grad()
    (h * dout).sum().backward()
    grads = {"dout": dout.contiguous()}
    for n, p in model.named_parameters():
        grads[n] = (p.grad if p.grad is not None else torch.zeros_like(p)).detach().contiguous()
    save_file(grads, os.path.join(out_dir, "grads.safetensors"))
    return len(grads) - 1


def build_one(name, cls, cfg, out_dir):
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED + sum(map(ord, name)))
    cfg._attn_implementation = "eager"
    model = cls(cfg)
    init_weights(model, gen)
    model.eval()
    shape = SHAPES.get(name, (B, T, LENGTHS))
    ids, mask, types = make_inputs(cfg, gen, shape)
    mpnet = cls is transformers.MPNetModel
    no_types = mpnet or cls is transformers.ModernBertModel
    kw = {} if no_types else {"token_type_ids": types}  # MPNet and ModernBERT have no token types
    with torch.no_grad():
        out = model(input_ids=ids, attention_mask=mask, **kw)
    model.save_pretrained(out_dir)

    # the checkpoint read back must give the same numbers
    again = cls.from_pretrained(out_dir, attn_implementation="eager").eval()
    with torch.no_grad():
        out2 = again(input_ids=ids, attention_mask=mask, **kw)
    if not torch.equal(out.last_hidden_state, out2.last_hidden_state):
        raise RuntimeError(name + ": reloaded checkpoint gives different outputs")
    if cls is transformers.ModernBertModel:  # the sdpa path agrees at the real tokens
        sdpa = cls.from_pretrained(out_dir, attn_implementation="sdpa").eval()
        with torch.no_grad():
            d = (sdpa(input_ids=ids, attention_mask=mask).last_hidden_state
                 - out.last_hidden_state)[mask.bool()].abs().max()
        if d > 1e-5:
            raise RuntimeError(f"{name}: sdpa differs from eager by {float(d)} at real tokens")

    io = {
        "input_ids": ids.contiguous(),
        "attention_mask": mask.contiguous(),
        "token_type_ids": types.contiguous(),
        "last_hidden_state": out.last_hidden_state.float().contiguous(),
    }
    if getattr(out, "pooler_output", None) is not None:
        io["pooler_output"] = out.pooler_output.float().contiguous()
    n_grads = None
    if mpnet:
        rel = torch.arange(-600, 601, dtype=torch.int64)
        io["relative_position"] = rel
        io["relative_position_bucket"] = transformers.models.mpnet.modeling_mpnet.MPNetEncoder \
            .relative_position_bucket(rel).contiguous()
    if cls in GRAD_CLASSES:
        n_grads = write_grads(model, ids, mask, kw, gen, out_dir)
    save_file(io, os.path.join(out_dir, "io.safetensors"))

    meta = versions()
    meta.update({
        "script": "tools/oracle_encoders.py",
        "seed": SEED,
        "model_class": cls.__name__,
        "attn_implementation": "eager",
        "dtype": "float32",
        "init": "normal std 0.2; LayerNorm weight 1 + 0.1 N(0,1), bias 0.1 N(0,1)",
        "batch": shape[0],
        "seq_len": shape[1],
        "lengths": shape[2],
        "outputs": sorted(io),
        "abs_max_last_hidden_state": float(out.last_hidden_state.abs().max()),
    })
    if n_grads is not None:
        meta["grads"] = ("grads.safetensors: dout (N(0,1) from the same generator, after the "
                         "inputs) and the gradients of sum(last_hidden_state * dout) of all "
                         f"{n_grads} parameters, eval mode")
    with open(os.path.join(out_dir, "meta.json"), "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    size = sum(os.path.getsize(os.path.join(out_dir, f)) for f in os.listdir(out_dir))
    print(name, "params", sum(p.numel() for p in model.parameters()), "bytes", size)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--only", nargs="*", help="write only these fixtures")
    args = ap.parse_args()
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    torch.use_deterministic_algorithms(True)
    for name, (cls, cfg) in specs().items():
        if args.only and name not in args.only:
            continue
        d = os.path.join(args.out, name)
        if os.path.isdir(d):
            shutil.rmtree(d)
        os.makedirs(d)
        build_one(name, cls, cfg, d)


if __name__ == "__main__":
    main()
