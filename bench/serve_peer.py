"""serve_peer.py: the peer `bench/serve.sh` measures `pifi serve` against:
the same trained run (a `base` run: the SLM and pifi's head) as PyTorch +
transformers behind Python's standard-library threaded HTTP server, with
TEI's /predict request and response shapes (one text per request, as the
load generator sends). The model: transformers' AutoModel on the run's
directory (its config.json and the SLM's tensors in model.safetensors),
CLS pooling, then pifi's head (Linear, GELU, Linear) from the same file.
Each request runs its own forward pass (no dynamic batching: what a
transformers pipeline behind a simple server does).

usage: serve_peer.py RUN_DIR PORT THREADS
"""

import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import torch
from safetensors.torch import load_file
from transformers import AutoModel, AutoTokenizer


def main():
    run, port, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    torch.set_num_threads(threads)
    cfg = json.load(open(os.path.join(run, "config.json")))
    pifi = cfg["pifi"]
    if pifi.get("method") != "base":
        sys.exit("serve_peer.py: a base run only (the PyTorch peer has no plugged layer)")
    labels = pifi["label_names"]
    tok = AutoTokenizer.from_pretrained(run)
    model = AutoModel.from_pretrained(run, attn_implementation="eager").eval()
    st = load_file(os.path.join(run, "model.safetensors"))
    w1, b1 = st["pifi.head.dense.weight"], st["pifi.head.dense.bias"]
    w2, b2 = st["pifi.head.out.weight"], st["pifi.head.out.bias"]
    max_len = pifi.get("max_len", 100)
    lock_free = torch.inference_mode

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def reply(self, code, body):
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            self.reply(200, {}) if self.path == "/health" else self.reply(404, {"error": "not found"})

        def do_POST(self):
            n = int(self.headers.get("Content-Length", 0))
            try:
                req = json.loads(self.rfile.read(n))
                text = req["inputs"]
            except Exception as e:  # noqa: BLE001
                return self.reply(400, {"error": str(e)})
            with lock_free():
                enc = tok(text, truncation=True, max_length=max_len, return_tensors="pt")
                h = model(**enc).last_hidden_state[:, 0]
                logits = torch.nn.functional.gelu(h @ w1.T + b1) @ w2.T + b2
                p = torch.softmax(logits, -1)[0].tolist()
            out = sorted(({"score": s, "label": labels[k]} for k, s in enumerate(p)), key=lambda x: -x["score"])
            self.reply(200, out)

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    main()
