#!/usr/bin/env bash
# Prefill and decode speed of `minimind generate` side by side with real llama.cpp (npm node-llama-cpp's prebuilt
# CPU build, tools/gguf/speed.mjs) on our own GGUF export of the same weights: a minimind3-size model (dim 768,
# 8 layers, vocab 6400; one training step from random initialisation on the built-in corpus), a 128-id prompt, 256
# greedy tokens (no eos stop), 2 threads, f32 KV cache on both sides. Weight precision: ours fp32 vs llama.cpp f32,
# ours --dtype bf16 vs llama.cpp f16. Runs the pairs alternately (ours, llama.cpp, ours, ...) so a shared machine's
# drifting load hits both alike, and prints every run and the median ratios. Prefill = the prompt's forward up to its
# first token (ours: `generate`'s "prefill of N tokens X ms", before the first decode step; llama.cpp: evaluate's first
# token). Beside it each side's load (ours: checkpoint + load-time warm-up, which packs the weights' matmul panels and
# compiles the kernels; llama.cpp: library, model and context set-up) and the time from process start to the first
# token, so nothing moved out of the prefill goes unseen. OURS_FLAGS="--no-warmup" times ours without the warm-up.
#   tools/bench/decode_vs_llamacpp.sh [ROUNDS]      (env: WORK=dir for the model files, TOKENIZER=MiniMind v3 folder,
#     MINIMIND_DLL=the CLI to time (default: this tree's build, artifacts/$MM_SLOT/...), PAIRS="fp32/f32 bf16/f16", N=256,
#     OURS_FLAGS=extra generate flags)
# Needs: the CLI built (dotnet build src/Minimind.Cli -c Release) and tools/gguf/node_modules (cd tools/gguf && npm install).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-3}
WORK=${WORK:-/tmp/minimind-decode-bench}
TOKENIZER=${TOKENIZER:-/work/shared/minimind/v3}
PAIRS=${PAIRS:-fp32/f32 bf16/f16}
# The build output sits under artifacts/$MM_SLOT when MM_SLOT is set (Directory.Build.props).
DLL=${MINIMIND_DLL:-artifacts/${MM_SLOT:+$MM_SLOT/}bin/Minimind.Cli/release/minimind.dll}
MM=(dotnet "$DLL")
[ -f "$DLL" ] || { echo "no CLI at $DLL: build it first (dotnet build src/Minimind.Cli -c Release) or set MINIMIND_DLL" >&2; exit 2; }
[ -d tools/gguf/node_modules/node-llama-cpp ] || { echo "install node-llama-cpp first: (cd tools/gguf && npm install)" >&2; exit 2; }
[ -d "$TOKENIZER" ] || { echo "set TOKENIZER to MiniMind's v3 tokenizer folder (shared/minimind/v3)" >&2; exit 2; }
mkdir -p "$WORK"
PTH=$WORK/pretrain_768.pth
if [ ! -f "$PTH" ]; then
  "${MM[@]}" train --arch minimind3 --max-steps 1 --batch-size 1 --max-seq-len 512 --out-dir "$WORK" > "$WORK/train.log" 2>&1
fi
for d in f32 f16; do
  [ -f "$WORK/m3-$d.gguf" ] || "${MM[@]}" convert "$PTH" "$WORK/m3-$d.gguf" --tokenizer "$TOKENIZER" --dtype $d > /dev/null
done
# 128 prompt ids, fixed (bos first), inside the vocabulary.
IDS=$(python3 -c "import random; r = random.Random(21); print(','.join(['1'] + [str(r.randrange(3, 6400)) for _ in range(127)]))")
N=${N:-256}   # generated tokens (env N: fewer on a loaded machine; the prefill figure does not depend on it)

ours() {  # dtype -> "prefill_tok_s decode_tok_s load_ms start_to_first_token_ms"
  local err
  # shellcheck disable=SC2086
  err=$("${MM[@]}" generate --weights "$PTH" --prompt-ids "$IDS" --greedy --max-new-tokens $N --eos-id -1 --dtype "$1" ${OURS_FLAGS:-} 2>&1 >/dev/null)
  # "load 410 ms, then warm-up 300 ms (...)" and
  # "256 tokens in 3.20 s (prefill of 128 tokens 180 ms, first token 205 ms (1300 ms after the process started), then 82.1 tokens/s)"
  python3 - "$err" <<'EOF'
import re, sys
err = sys.argv[1]
m = re.search(r"prefill of (\d+) tokens ([\d.]+) ms, first token [\d.]+ ms \(([\d.]+) ms after the process started\), then ([\d.]+) tokens/s", err)
load = re.search(r"^load ([\d.]+) ms(?:, then warm-up ([\d.]+) ms)?", err, re.M)
if not m or not load: sys.exit("unexpected generate output:\n" + err)
n, pre, start, dec = int(m[1]), float(m[2]), float(m[3]), float(m[4])
print("%.1f %.1f %.0f %.0f" % (n / (pre / 1000), dec, float(load[1]) + float(load[2] or 0), start))
EOF
}
llama() {  # gguf -> "prefill_tok_s decode_tok_s load_ms start_to_first_token_ms"
  node tools/gguf/speed.mjs "$1" "$IDS" $N 2 |
    python3 -c "import json, sys; j = json.load(sys.stdin); print('%.1f %.1f %.0f %.0f' % (j['prefill_tokens_per_s'], j['decode_tokens_per_s'], j['load_ms'], j['process_to_first_token_ms']))"
}

echo "minimind generate ($DLL) vs llama.cpp (node-llama-cpp $(node -p "require('./tools/gguf/node_modules/node-llama-cpp/package.json').version")), 128-id prompt + $N greedy tokens, 2 threads; $(date -u '+%Y-%m-%d %H:%M') UTC, load $(cut -d' ' -f1 /proc/loadavg)"
echo "pair  round  ours_prefill  llama_prefill  ours_decode  llama_decode (tokens/s)  ours_load  llama_load  ours_start→1st  llama_start→1st (ms)"
for pair in $PAIRS; do
  set -- ${pair/\// }
  : > "$WORK/ratios-$1"
  for r in $(seq 1 "$ROUNDS"); do
    read -r op od ol os <<< "$(ours "$1")"
    read -r lp ld ll ls <<< "$(llama "$WORK/m3-$2.gguf")"
    printf '%-9s %5d  %12s  %13s  %11s  %12s  %20s  %10s  %14s  %15s\n' "$1/$2" "$r" "$op" "$lp" "$od" "$ld" "$ol" "$ll" "$os" "$ls"
    echo "$op $lp $od $ld" >> "$WORK/ratios-$1"
  done
  python3 - "$WORK/ratios-$1" "$1/$2" <<'EOF'
import statistics, sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1])]
pre = statistics.median(o / l for o, l, _, _ in rows)
dec = statistics.median(o / l for _, _, o, l in rows)
print(f"{sys.argv[2]}: median ratio ours/llama.cpp prefill {pre:.2f}, decode {dec:.2f}")
EOF
done
