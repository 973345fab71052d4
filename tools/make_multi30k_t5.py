"""Writes experiments/multi30k-t5/: the tokenizer and config of the small
T5-shaped model that issue 22's end-to-end runs train from scratch on
Multi30K en->de (no pretrained T5 is reachable here).

tokenizer.json: a SentencePiece-style Unigram vocabulary of 8,000 pieces
trained with `tokenizers`' UnigramTrainer on Multi30K's training side, both
languages (../shared/data/multi30k/train.{en,de}.gz, read, not copied):
NFKC, Metaspace ("▁", prepend always), byte fallback off, T5's special
tokens (<pad> 0, </s> 1, <unk> 2) and its post-processor (</s> after a
text). tokenizer_config.json: the same special tokens. config.json:
T5 v1.0 shape, d_model 256, 8 heads of 32, d_ff 1024, 3 + 3 layers, ReLU,
tied embeddings, relative buckets 32 up to 128, dropout 0.1. And
tests/fixtures/tokenizers/multi30k_t5_ids.txt: HF's ids of Multi30K's 2,000
test lines (English, then German), one line of ids per text.

usage: make_multi30k_t5.py --data ../shared/data --out experiments/multi30k-t5
"""

import argparse
import gzip
import json
import os

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers


def lines(path):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [l.rstrip("\n") for l in f]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--vocab", type=int, default=8000)
    ap.add_argument("--fixtures", default="tests/fixtures/tokenizers")
    a = ap.parse_args()
    d = os.path.join(a.data, "multi30k")
    text = lines(os.path.join(d, "train.en.gz")) + lines(os.path.join(d, "train.de.gz"))
    tk = Tokenizer(models.Unigram())
    tk.normalizer = normalizers.NFKC()
    tk.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tk.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    trainer = trainers.UnigramTrainer(vocab_size=a.vocab, special_tokens=["<pad>", "</s>", "<unk>"],
                                      unk_token="<unk>", shrinking_factor=0.75, max_piece_length=16)
    tk.train_from_iterator(text, trainer=trainer)
    eos = tk.token_to_id("</s>")
    tk.post_processor = processors.TemplateProcessing(single="$A </s>", pair="$A </s> $B </s>",
                                                      special_tokens=[("</s>", eos)])
    os.makedirs(a.out, exist_ok=True)
    tk.save(os.path.join(a.out, "tokenizer.json"))
    with open(os.path.join(a.out, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "T5TokenizerFast", "pad_token": "<pad>", "eos_token": "</s>",
                   "unk_token": "<unk>", "model_max_length": 512}, f, indent=1)
        f.write("\n")
    cfg = {"model_type": "t5", "architectures": ["T5ForConditionalGeneration"], "vocab_size": tk.get_vocab_size(),
           "d_model": 256, "d_kv": 32, "num_heads": 8, "d_ff": 1024, "num_layers": 3, "num_decoder_layers": 3,
           "feed_forward_proj": "relu", "tie_word_embeddings": True, "relative_attention_num_buckets": 32,
           "relative_attention_max_distance": 128, "dropout_rate": 0.1, "layer_norm_epsilon": 1e-6,
           "initializer_factor": 1.0, "pad_token_id": 0, "eos_token_id": 1, "decoder_start_token_id": 0,
           "is_encoder_decoder": True}
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
        f.write("\n")
    # the ids of Multi30K's test sources and targets, for tests/test_multi30k_tokenizer.c
    test = lines(os.path.join(d, "test_2016_flickr.en.gz")) + lines(os.path.join(d, "test_2016_flickr.de.gz"))
    fix = os.path.join(a.fixtures, "multi30k_t5_ids.txt")
    with open(fix, "w") as f:
        for e in tk.encode_batch(test):
            f.write(" ".join(str(i) for i in e.ids) + "\n")
    print(tk.get_vocab_size(), "pieces;", len(test), "test lines ->", fix)


if __name__ == "__main__":
    main()
