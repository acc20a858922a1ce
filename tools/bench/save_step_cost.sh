#!/usr/bin/env bash
# Usage: tools/bench/save_step_cost.sh [PAIRS] [STEPS] [BASELINE_DLL] — the cost of a checkpoint save step with
# --async-save (the default) and with --async-save false, side by side: the issue-26 model (6.4M parameters, --dim 384
# --n-layers 4 --n-heads 6 --n-kv-heads 2) on the built-in corpus, STEPS steps (default 12) saving every 2nd, run async,
# sync, async, sync, ... PAIRS times (default 2). With BASELINE_DLL (another build's minimind.dll, e.g. main's) each
# round also runs that build with --async-save true, between the two, so before/after are measured side by side.
# Per run: the median time of a step that follows a save (the save's blocked time + the step, with the background write
# running beside it) over the median of a step that follows no save, read from the run's metrics.jsonl
# (--log-interval 1: elapsed_s per step), and the save records' blocked_s and write_s. Needs the CLI built
# (dotnet build -c Release).
set -eu
pairs=${1:-2}; steps=${2:-12}; base=${3:-}
repo=$(cd "$(dirname "$0")/../.." && pwd)
dll=$repo/artifacts/${MM_SLOT:+$MM_SLOT/}bin/Minimind.Cli/release/minimind.dll
out=$(mktemp -d /tmp/save-cost.XXXX)
trap 'rm -rf "$out"' EXIT
runs="this:true${base:+ base:true} this:false"
for i in $(seq 1 "$pairs"); do
  for run in $runs; do
    build=${run%%:*}; mode=${run#*:}
    bin=$dll; [ "$build" = base ] && bin=$base
    d=$out/$build-$mode-$i
    dotnet "$bin" train --dim 384 --n-layers 4 --n-heads 6 --n-kv-heads 2 --max-steps "$steps" --save-interval 2 \
      --log-interval 1 --async-save "$mode" --out-dir "$d" >"$d.log" 2>&1
    python3 - "$d/checkpoints/pretrain_384_metrics.jsonl" "$build" "$mode" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
steps = {r["step"]: r["elapsed_s"] for r in rows if "loss" in r}
saves = {r["step"]: r for r in rows if r.get("event") == "save"}
# elapsed_s of step k is taken before step k's save: the interval k -> k+1 holds that save (if any) and step k+1.
after_save = [steps[k + 1] - steps[k] for k in steps if k + 1 in steps and k in saves]
plain = [steps[k + 1] - steps[k] for k in steps if k + 1 in steps and k not in saves]
a, p = statistics.median(after_save), statistics.median(plain)
mid = [s for k, s in saves.items() if k + 1 in steps]
print(f"{sys.argv[2]:4} build, async-save {sys.argv[3]:5}: save step {a:.3f} s / plain step {p:.3f} s = {a / p:.3f}x; "
      f"blocked {statistics.median(s['blocked_s'] for s in mid):.3f} s, write {statistics.median(s['write_s'] for s in mid):.3f} s (medians); "
      f"the last save: blocked {saves[max(saves)]['blocked_s']:.3f} s")
PY
  done
done
