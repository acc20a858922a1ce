#!/usr/bin/env python3
"""A reward server for `minimind train --stage grpo|ppo|agent --reward-url URL` (protocol: docs/rl.md).

POST {"messages": [{"role", "content"}, ...], "response": "..."}  ->  {"score": x}

  reward_server.py --model PATH [--host H] [--port P] [--device cuda]
      Scores with an InternLM2-style reward model (MiniMind uses internlm2-1_8b-reward) loaded by transformers with
      trust_remote_code; the conversation is given to it as MiniMind's LMForRewardModel.get_score does: the earlier
      messages as "role: content" lines, then "以上是对话历史。我的新问题是：" and the last message as one user turn,
      the response as the assistant turn. The client clips scores to +-3 (as MiniMind does).
  reward_server.py --demo [--port P]
      No model: the score is len(response) / 100 - 1, so the protocol can be tried (and is tested) without weights.

--port 0 picks a free port; the first line printed is "listening on http://HOST:PORT/".
"""
import argparse
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def reward_model_messages(messages, response):
    """The two messages an InternLM2-style reward model scores (MiniMind's get_score formatting)."""
    history = "\n".join(f"{m['role']}: {m['content']}" for m in messages[:-1])
    last = messages[-1]["content"] if messages else ""
    context = f"{history}\n以上是对话历史。我的新问题是：\n{last}" if history else last
    return [{"role": "user", "content": context}, {"role": "assistant", "content": response}]


def make_scorer(args):
    if args.demo:
        return lambda messages, response: len(response) / 100 - 1
    import torch
    from transformers import AutoModel, AutoTokenizer
    tok = AutoTokenizer.from_pretrained(args.model, trust_remote_code=True)
    model = AutoModel.from_pretrained(args.model, torch_dtype=torch.float16, trust_remote_code=True).to(args.device).eval()

    def score(messages, response):
        with torch.no_grad():
            return float(model.get_score(tok, reward_model_messages(messages, response)))
    return score


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--model", help="reward model folder (transformers, trust_remote_code)")
    g.add_argument("--demo", action="store_true", help="no model: score = len(response) / 100 - 1")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8999)
    p.add_argument("--device", default="cuda")
    args = p.parse_args()
    scorer = make_scorer(args)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            try:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))).decode("utf-8"))
                messages, response = body["messages"], body["response"]
                if not isinstance(messages, list) or not isinstance(response, str):
                    raise ValueError("messages must be a list and response a string")
                out, status = {"score": scorer(messages, response)}, 200
            except (ValueError, KeyError, TypeError) as e:
                out, status = {"error": f"bad request: {e}"}, 400
            data = json.dumps(out).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *a):
            pass

    server = ThreadingHTTPServer((args.host, args.port), Handler)
    print(f"listening on http://{args.host}:{server.server_address[1]}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
