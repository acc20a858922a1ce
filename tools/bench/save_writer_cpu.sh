#!/usr/bin/env bash
# Usage: tools/bench/save_writer_cpu.sh [RUNS] [STEPS] [BASELINE_DLL] — the CPU time the background checkpoint writer
# ("checkpoint writer" thread, --async-save true) spends per save: the issue-26 model (6.4M parameters, --dim 384
# --n-layers 4 --n-heads 6 --n-kv-heads 2, ≈ 74 MB per save) on the built-in corpus, STEPS steps (default 12) saving every
# 2nd, RUNS times (default 2); with BASELINE_DLL (another build's minimind.dll) each round also runs that build, so
# before/after are side by side. The thread's utime+stime is read from /proc/<pid>/task/<tid>/stat every 10 ms while the
# run lasts (CPU time, so it holds on a busy box; its last ≤ 10 ms before the thread ends are missed, the same for both
# builds); per save = the thread's total / the saves in the run's metrics.jsonl. Also prints the median write_s.
set -eu
runs=${1:-2}; steps=${2:-12}; base=${3:-}
repo=$(cd "$(dirname "$0")/../.." && pwd)
dll=$repo/artifacts/${MM_SLOT:+$MM_SLOT/}bin/Minimind.Cli/release/minimind.dll
out=$(mktemp -d /tmp/save-cpu.XXXX)
trap 'rm -rf "$out"' EXIT
for i in $(seq 1 "$runs"); do
  for build in this ${base:+base}; do
    bin=$dll; [ "$build" = base ] && bin=$base
    d=$out/$build-$i
    python3 - "$d" "$build" "$bin" "$steps" <<'PY'
import json, os, statistics, subprocess, sys, time
d, build, dll, steps = sys.argv[1:5]
os.makedirs(d)
cmd = ["dotnet", dll, "train", "--dim", "384", "--n-layers", "4", "--n-heads", "6", "--n-kv-heads", "2", "--max-steps", steps,
       "--save-interval", "2", "--log-interval", "1", "--async-save", "true", "--out-dir", d]
p = subprocess.Popen(cmd, stdout=open(d + ".log", "w"), stderr=subprocess.STDOUT)
tick = os.sysconf("SC_CLK_TCK")
tid, cpu = None, 0
while p.poll() is None:
    if tid is None:
        for t in os.listdir(f"/proc/{p.pid}/task") if os.path.isdir(f"/proc/{p.pid}/task") else []:
            try:
                if open(f"/proc/{p.pid}/task/{t}/comm").read().strip() == "checkpoint writ": tid = t
            except OSError: pass
    if tid is not None:
        try:
            f = open(f"/proc/{p.pid}/task/{tid}/stat").read().rsplit(")", 1)[1].split()
            cpu = int(f[11]) + int(f[12])  # utime, stime (fields 14, 15)
        except OSError: pass
    time.sleep(0.01)
if p.returncode != 0: sys.exit(f"{build}: the run failed, see {d}.log")
rows = [json.loads(l) for l in open(f"{d}/checkpoints/pretrain_384_metrics.jsonl")]
saves = [r for r in rows if r.get("event") == "save"]
print(f"{build:4} build: checkpoint writer CPU {cpu / tick:.2f} s over {len(saves)} saves = {cpu / tick / len(saves):.3f} s per save; "
      f"write {statistics.median(s['write_s'] for s in saves):.3f} s (median)")
PY
  done
done
