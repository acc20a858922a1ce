#!/usr/bin/env python3
"""Writes tests/fixtures/serve/parse_response.json: MiniMind's own parse_response (scripts/serve_openai_api.py, the
function only: its source is cut out of the file with ast and run, so the server's torch/fastapi imports are not needed)
applied to 1,000 seeded replies mixing think blocks (closed, lone </think>, none), tool calls (well formed, malformed JSON,
a JSON array, a string name, arguments as object/string/number/float/nested/non-ASCII, missing fields), unbalanced tags
and surrounding whitespace. Tool-call ids hold time.time(), so the fixture keeps each call's name and arguments only.
Usage: python3 tools/serve/parse_response_fixture.py MINIMIND_MIRROR_OR_CHECKOUT [OUT]
"""
import ast, json, os, random, re, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))


def load_parse_response(repo):
    path = "scripts/serve_openai_api.py"
    try:
        src = open(os.path.join(repo, path), encoding="utf-8").read()
    except FileNotFoundError:
        src = subprocess.check_output(["git", "-C", repo, "show", f"HEAD:{path}"]).decode("utf-8")
    fn = next(n for n in ast.parse(src).body if isinstance(n, ast.FunctionDef) and n.name == "parse_response")
    ns = {"re": re, "json": json, "time": time}
    exec(compile(ast.Module(body=[fn], type_ignores=[]), path, "exec"), ns)
    return ns["parse_response"]


WORDS = ["hello", "你好", "weather", "42", "3.5", "the", "answer", "is", "x", "😀", "tool", "think", "{", "}", '"', ":"]
SPACE = ["", " ", "\n", "\n\n", "  \n", "\t"]


def words(r, n):
    return " ".join(r.choice(WORDS) for _ in range(n))


def call_json(r):
    kind = r.randrange(12)
    args = r.choice([{}, {"city": "Beijing"}, {"expression": "2+3*4"}, {"a": 1, "b": 2.5, "c": [1, 2, {"d": None}]},
                     {"text": "你好，世界", "to": "en"}, {"x": 1e-7, "y": 1e20, "z": -0.0, "w": True},
                     "already a string", 7, [1, "two"]])
    if kind == 0:
        return "{not json"                                       # malformed
    if kind == 1:
        return json.dumps([{"name": "f"}])                       # a JSON array: .get fails, skipped
    if kind == 2:
        return json.dumps({"arguments": args})                   # no name
    if kind == 3:
        return json.dumps({"name": "get_time"})                  # no arguments
    if kind == 4:
        return json.dumps({"name": 5, "arguments": args})        # a non-string name
    if kind == 5:
        return '{"name": "calc", "arguments": {"v": 1.50, "w": 2E3, "big": 12345678901234567890}}'  # literals Python re-writes
    text = json.dumps({"name": r.choice(["get_current_weather", "calculate_math", "translate_text", "天气"]), "arguments": args},
                      ensure_ascii=r.random() < 0.5, indent=r.choice([None, 2]))
    return r.choice(SPACE) + text + r.choice(SPACE)


def reply(r):
    parts = []
    t = r.randrange(5)
    if t == 0:
        parts.append(f"<think>{r.choice(SPACE)}{words(r, r.randrange(6))}{r.choice(SPACE)}</think>{r.choice(SPACE)}")
    elif t == 1:
        parts.append(f"{words(r, r.randrange(6))}{r.choice(SPACE)}</think>{r.choice(SPACE)}")   # open thinking: a lone </think>
    elif t == 2:
        parts.append(f"<think>{words(r, 3)}")                                                  # never closed
    parts.append(words(r, r.randrange(8)))
    for _ in range(r.choice([0, 0, 1, 1, 2, 3])):
        parts.append(r.choice(SPACE))
        c = r.randrange(8)
        if c == 0:
            parts.append("<tool_call>" + call_json(r))                                          # unbalanced
        elif c == 1:
            parts.append(call_json(r) + "</tool_call>")
        else:
            parts.append("<tool_call>" + call_json(r) + "</tool_call>")
        parts.append(words(r, r.randrange(3)))
    if r.random() < 0.2:
        parts.append("</think>" + words(r, 2))
    return r.choice(SPACE) + "".join(parts) + r.choice(SPACE)


def main():
    parse = load_parse_response(sys.argv[1])
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, "..", "..", "tests", "fixtures", "serve", "parse_response.json")
    r = random.Random(1234)
    cases = []
    for _ in range(1000):
        text = reply(r)
        content, reasoning, calls = parse(text)
        cases.append({"text": text, "content": content, "reasoning": reasoning,
                      "tool_calls": None if calls is None else [{"name": c["function"]["name"], "arguments": c["function"]["arguments"]} for c in calls]})
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w", encoding="utf-8") as f:
        json.dump(cases, f, ensure_ascii=False, indent=0)
    print(f"{len(cases)} cases, {sum(c['tool_calls'] is not None for c in cases)} with tool calls, "
          f"{sum(c['reasoning'] is not None for c in cases)} with reasoning -> {out}")


if __name__ == "__main__":
    main()
