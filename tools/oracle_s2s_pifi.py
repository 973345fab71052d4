"""Writes tests/fixtures/seq2seq/pifi_t5.safetensors: PiFi between the
halves of an encoder-decoder (paper Sec. 3.2) in torch, for
tests/test_s2s_train.c (src/train/s2s_plug.c and the trainer's pifi step):

    h = T5 encoder(x, mask)                      (t5_v10, d_model 32)
    v = L_out(layer(L_in(h), positions 0..T-1, the source's padding mask,
              bidirectional))                    (tests/fixtures/pifi/llama/llm's
                                                  last layer, D 64, frozen)
    loss = T5(encoder_outputs=v, attention_mask=mask, labels).loss

L_in, L_out random (seed 0), eval mode (no dropout), fp32. Saved: the
batch (input_ids, attention_mask, labels with -100), L_in, L_out, the
loss, the logits, and the gradients of L_in, L_out and every T5 tensor
("grad.<name>").

usage: oracle_s2s_pifi.py --fixtures tests/fixtures
"""

import argparse
import os
import sys

import torch
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from oracle_pifi import build_mask, call_layer  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fixtures", required=True)
    a = ap.parse_args()
    torch.manual_seed(0)
    t5 = AutoModelForSeq2SeqLM.from_pretrained(os.path.join(a.fixtures, "seq2seq", "t5_v10")).eval()
    lm = AutoModelForCausalLM.from_pretrained(os.path.join(a.fixtures, "pifi", "llama", "llm"),
                                              attn_implementation="eager").eval()
    for p in lm.parameters():
        p.requires_grad_(False)
    C, D = t5.config.d_model, lm.config.hidden_size
    l_in = torch.nn.Linear(C, D, bias=False)
    l_out = torch.nn.Linear(D, C, bias=False)
    B, T, Tt = 3, 7, 5
    ids = torch.randint(3, t5.config.vocab_size, (B, T))
    mask = torch.ones(B, T, dtype=torch.int64)
    for b, n in enumerate([7, 4, 2]):
        mask[b, n:] = 0
        ids[b, n:] = t5.config.pad_token_id
        ids[b, n - 1] = t5.config.eos_token_id
    labels = torch.randint(3, t5.config.vocab_size, (B, Tt))
    for b, n in enumerate([5, 3, 1]):
        labels[b, n - 1] = t5.config.eos_token_id
        labels[b, n:] = -100
    h = t5.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
    x = l_in(h)
    pos = torch.arange(T).unsqueeze(0)
    m4 = build_mask(lm.config, "bidir", x, mask, pos)
    v = l_out(call_layer(lm, lm.model.layers[-1], x, m4, pos))
    out = t5(encoder_outputs=(v,), attention_mask=mask, labels=labels)
    out.loss.backward()
    t = {"input_ids": ids.to(torch.int32), "attention_mask": mask.to(torch.int32), "labels": labels.to(torch.int32),
         "l_in": l_in.weight.detach().contiguous(), "l_out": l_out.weight.detach().contiguous(),
         "loss": out.loss.detach().reshape(1), "logits": out.logits.detach().contiguous(),
         "grad.l_in.weight": l_in.weight.grad.contiguous(), "grad.l_out.weight": l_out.weight.grad.contiguous()}
    for name, p in t5.named_parameters():
        if p.grad is not None:
            t["grad." + name] = p.grad.contiguous()
    save_file(t, os.path.join(a.fixtures, "seq2seq", "pifi_t5.safetensors"))
    print("loss", out.loss.item(), len(t), "tensors")


if __name__ == "__main__":
    main()
