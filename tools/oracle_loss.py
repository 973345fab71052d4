"""Writes tests/fixtures/loss/ce_ignore.json: torch.nn.CrossEntropyLoss with
ignore_index=-100 and label smoothing (mean over the counted rows) on
random logits, its value and d loss / d logits, for tests/test_loss.c
(src/train/loss.c crossentropy_ignore: the sequence-to-sequence loss over
target tokens, padding ignored).

usage: oracle_loss.py --out tests/fixtures/loss
"""

import argparse
import json
import os

import torch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    torch.manual_seed(7)
    cases = []
    for name, N, K, eps, ignore in (("smoothed", 9, 13, 0.1, [2, 5, 8]), ("plain", 6, 5, 0.0, [0]),
                                    ("all_counted", 4, 7, 0.05, []), ("large_logits", 5, 9, 0.1, [4])):
        logits = (torch.randn(N, K, dtype=torch.float64) * (30 if name == "large_logits" else 3)).float()
        labels = torch.randint(0, K, (N,))
        for i in ignore:
            labels[i] = -100
        x = logits.clone().requires_grad_(True)
        loss = torch.nn.CrossEntropyLoss(ignore_index=-100, label_smoothing=eps)(x, labels)
        loss.backward()
        cases.append({"name": name, "N": N, "K": K, "smoothing": eps, "logits": logits.flatten().tolist(),
                      "labels": labels.tolist(), "loss": loss.item(), "dlogits": x.grad.flatten().tolist()})
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "ce_ignore.json"), "w") as f:
        json.dump({"torch": torch.__version__, "cases": cases}, f)
        f.write("\n")


if __name__ == "__main__":
    main()
