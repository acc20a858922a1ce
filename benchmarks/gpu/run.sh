#!/usr/bin/env bash
# The ONE prepared GPU session script (a lent H200: CUDA + Python + PyTorch 2.x, no .NET).
# Expects a self-contained single-file publish carried to the device as ./publish:
#   dotnet publish src/Minimind.Cli -c Release -r linux-x64 --self-contained \
#     -p:PublishSingleFile=true -p:EnableCompressionInSingleFile=true -o publish
# and is run from the repository root with $OUT set (the run tool does both):
#   run(command="bash benchmarks/gpu/run.sh", carry=["publish"], timeout_s=540)
# Writes $OUT/gpu_results.md (markdown) plus the raw logs. Every step is bounded by `timeout`
# so one hung step still leaves the others' results.
set -u
OUT="${OUT:-./gpu_out}"
mkdir -p "$OUT"
MM="${MM_BIN:-./publish/minimind}"  # MM_BIN: another binary (benchmarks/gpu/dry_run.sh points it at a CPU shim)
R="$OUT/gpu_results.md"
log() { echo "[$(date -u +%H:%M:%S)] $*" | tee -a "$OUT/run.log" >&2; }

{
  echo "# minimind GPU session results"
  echo
  echo "Date (UTC): $(date -u '+%Y-%m-%d %H:%M')  "
  echo "Commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)  "
  echo
  echo '```'
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>&1 | head -5
  echo '```'
} > "$R"

if [ ! -x "$MM" ]; then
  log "no $MM: publish first (see the header of this script) and carry 'publish'"
  echo "**ERROR**: $MM missing" >> "$R"
  exit 2
fi

# The whole script stays within BUDGET seconds (~8 min): a step gets at most the time left, and once fewer than
# 15 s are left the remaining steps are skipped with a note (the tables so far are kept).
BUDGET="${MM_GPU_BUDGET_S:-480}"
section() { # title, timeout seconds, command...
  local title="$1" t="$2"; shift 2
  local left=$((BUDGET - SECONDS))
  rm -f "$OUT/step.out" "$OUT/step.err"
  if [ "$left" -lt 15 ]; then
    log "$title: skipped (time budget of $BUDGET s spent)"
    echo >> "$R"; echo "## $title" >> "$R"; echo >> "$R"; echo "Skipped: the script's $BUDGET s budget was spent." >> "$R"
    return 0
  fi
  [ "$t" -gt "$left" ] && t=$left
  log "$title: $*"
  echo >> "$R"; echo "## $title" >> "$R"; echo >> "$R"
  echo "Command: \`$*\`" >> "$R"; echo >> "$R"
  local start=$SECONDS
  timeout "$t" "$@" > "$OUT/step.out" 2> "$OUT/step.err"
  local rc=$?
  cat "$OUT/step.out" >> "$R"
  cat "$OUT/step.out" "$OUT/step.err" >> "$OUT/run.log"
  echo >> "$R"; echo "(exit code $rc, $((SECONDS - start)) s, timeout $t s)" >> "$R"
  if [ $rc -ne 0 ]; then echo '```' >> "$R"; tail -20 "$OUT/step.err" >> "$R"; echo '```' >> "$R"; fi
  log "$title: exit $rc"
}
keep() { cp "$OUT/step.out" "$OUT/$1" 2>/dev/null || : > "$OUT/$1"; } # the last step's stdout under a name

HAVE_TORCH=0
if command -v python3 >/dev/null && python3 -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then HAVE_TORCH=1
else log "python3 with CUDA torch not found: skipping the PyTorch comparisons"; echo "PyTorch comparisons skipped: no python3 with CUDA torch." >> "$R"; fi

# Training tokens/s per dtype beside PyTorch on the same GPU (eager fp32, eager + bf16 autocast, torch.compile + bf16).
# --max-seq-len L gives rows of L-1 positions on both sides, so 513 / 1025 are T 512 / 1024.
train_table() { # arch, max-seq-len
  local arch=$1 L=$2 d
  for d in fp32 bf16 fp16; do
    section "minimind bench train $arch $d (cuda, B16 T$((L - 1)))" 60 "$MM" bench train --device cuda --arch "$arch" --batch-size 16 --max-seq-len "$L" --steps 5 --dtype "$d"
    keep "train_${arch}_$d.log"
  done
  # torch_ref.py stops its modes at --budget and still prints the table, so its budget stays under the step's timeout.
  local b=$((BUDGET - SECONDS - 20)); [ $b -gt 140 ] && b=140; [ $b -lt 10 ] && b=10
  [ $HAVE_TORCH = 1 ] && section "training tokens/s, $arch B16 T$((L - 1)): ours per dtype vs PyTorch" 160 \
    python3 benchmarks/gpu/torch_ref.py train --arch "$arch" --batch-size 16 --max-seq-len "$L" --steps 5 --budget "$b" \
      --ours "$OUT/train_${arch}_fp32.log" "$OUT/train_${arch}_bf16.log" "$OUT/train_${arch}_fp16.log"
  return 0
}

# In order of what matters most when the budget runs short:
# 1. every op in every dtype against the CPU backend (the reference of the rounding) at minimind-v1 sizes;
for d in fp32 bf16 fp16; do
  section "kernels check $d (cuda vs cpu, v1 sizes)" 75 "$MM" kernels check --device cuda --sizes v1 --dtype "$d"
done
# 2. minimind-v1 training per dtype vs PyTorch;
train_table minimind-v1 513
# 3. every op's time per dtype (v1) and minimind3's GEMM shapes at bf16, then cuBLAS / SDPA on the same rows;
for d in fp32 bf16 fp16; do
  section "kernels bench $d (cuda, v1 sizes)" 60 "$MM" kernels bench --device cuda --sizes v1 --dtype "$d" --seconds 0.1
  keep "bench_v1_$d.md"
done
section "kernels bench bf16 GEMMs (cuda, minimind3 sizes)" 40 "$MM" kernels bench --device cuda --sizes m3 --dtype bf16 --op MatMul --seconds 0.1
keep bench_m3_bf16.md
[ $HAVE_TORCH = 1 ] && section "GEMM vs cuBLAS (torch.matmul) and attention vs SDPA, same shapes and dtypes" 90 \
  python3 benchmarks/gpu/torch_ref.py gemm "$OUT"/bench_v1_fp32.md "$OUT"/bench_v1_bf16.md "$OUT"/bench_v1_fp16.md "$OUT"/bench_m3_bf16.md --seconds 0.1
# 4. minimind3 training per dtype vs PyTorch;
train_table minimind3 1025
# 5. the NCCL binding and training path (W=1).
# NCCL binding at W=1 (no MPI needed): the libnccl.so.2 of PyTorch's CUDA wheel unless the system has one.
if [ -z "${MINIMIND_NCCL_LIB:-}" ] && ! ldconfig -p 2>/dev/null | grep -q libnccl.so.2; then
  MINIMIND_NCCL_LIB=$(python3 -c "import nvidia.nccl, os; print(os.path.join(list(nvidia.nccl.__path__)[0], 'lib', 'libnccl.so.2'))" 2>/dev/null || true)
  export MINIMIND_NCCL_LIB
fi
section "NCCL all-reduce through the binding (W=1, ${MINIMIND_NCCL_LIB:-system libnccl.so.2})" 40 "$MM" kernels nccl --mb 256
# Training through NCCL at W=1 vs the plain path: the same 8 CUDA steps must give the same bits (at W=1 nothing is
# exchanged, so this checks that the NCCL selection, ncclCommInitRank and the start-up send/recv ring leave training alone).
# Without mpirun on the device, OMPI_COMM_WORLD_SIZE=1 marks a one-rank job exactly as `mpirun -np 1` does.
TA=(train --device cuda --max-seq-len 32 --batch-size 4 --accumulation-steps 2 --max-steps 8 --save-interval 8 --log-interval 1 --save-dtype f32 --seed 5)
TD="${TMPDIR:-/tmp}/mm_gpu_train"; rm -rf "$TD"
section "train on cuda, plain path (no mpirun)" 60 "$MM" "${TA[@]}" --out-dir "$TD/plain"
if command -v mpirun >/dev/null; then L=(mpirun --allow-run-as-root -np 1 "$MM"); else L=(env OMPI_COMM_WORLD_SIZE=1 "$MM"); fi
section "train on cuda through NCCL (W=1: ${L[0]})" 60 "${L[@]}" "${TA[@]}" --out-dir "$TD/nccl"
{
  echo; echo "## NCCL training path vs plain path (W=1, 8 steps)"; echo
  grep -h "gradient exchange" "$OUT/run.log" | tail -1 | sed 's/^/    /'
  ok=1
  for f in model.f32 adam_m.f32 adam_v.f32; do
    a=$(ls -d "$TD"/plain/checkpoints/*/step_* 2>/dev/null | tail -1)/$f; b=$(ls -d "$TD"/nccl/checkpoints/*/step_* 2>/dev/null | tail -1)/$f
    if [ -f "$a" ] && [ -f "$b" ] && cmp -s "$a" "$b"; then echo "- $f: bit-identical"; else echo "- $f: **DIFFERS or missing** ($a vs $b)"; ok=0; fi
  done
  grep -q "gradient exchange: NCCL" "$OUT/run.log" || { echo "- **the NCCL run did not report the NCCL path**"; ok=0; }
  [ $ok = 1 ] && echo "PASS" || echo "FAIL"
} >> "$R"
log "done: $R"
