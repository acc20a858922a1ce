#!/usr/bin/env bash
# A CPU dry run of benchmarks/gpu/run.sh's logic (no GPU, no GPU figure): shims map the device to the CPU and the
# sizes to tiny ones, so every step, table and parser of the script runs here in a few minutes.
#   bash benchmarks/gpu/dry_run.sh [BUILT_minimind.dll] [PYTHON_WITH_TORCH2]
# The dll defaults to this slot's Release build, python to $MM_TORCH2_PYTHON. Output: $OUT (default $TMPDIR/minimind_gpu_dry).
set -u
DLL="${1:-artifacts/${MM_SLOT:-default}/bin/Minimind.Cli/release/minimind.dll}"
PY="${2:-${MM_TORCH2_PYTHON:-python3}}"
[ -f "$DLL" ] || { echo "no $DLL: build src/Minimind.Cli first (or pass the dll)" >&2; exit 2; }
SHIM=$(mktemp -d); trap 'rm -rf "$SHIM"' EXIT
# minimind: cuda -> cpu, v1/m3 -> small, B16 T512/T1024 -> B2 T32, bench train on a dim-64 1-layer model.
cat > "$SHIM/minimind" <<SH
#!/usr/bin/env bash
out=()
for a in "\$@"; do case "\$a" in cuda) out+=(cpu);; v1|m3) out+=(small);; 513|1025) out+=(33);; 16) out+=(2);; *) out+=("\$a");; esac; done
[ "\$1 \$2" = "bench train" ] && out+=(--dim 64 --n-layers 1)
exec dotnet "$(realpath "$DLL")" "\${out[@]}"
SH
# python3: "CUDA available", torch_ref.py on the CPU with --tiny, training rows B2 T32 and a 60 s budget.
cat > "$SHIM/python3" <<SH
#!/usr/bin/env bash
if [ "\$1" = -c ]; then case "\$2" in *cuda.is_available*) exit 0;; *) exec "$PY" "\$@";; esac; fi
out=()
for a in "\$@"; do case "\$a" in 513|1025) out+=(33);; 16) out+=(2);; *) out+=("\$a");; esac; done
case " \$* " in *" train "*) out+=(--budget 60);; esac
exec "$PY" "\${out[@]}" --device cpu --tiny
SH
chmod +x "$SHIM/minimind" "$SHIM/python3"
OUT="${OUT:-${TMPDIR:-/tmp}/minimind_gpu_dry}" MM_BIN="$SHIM/minimind" PATH="$SHIM:$PATH" MM_GPU_BUDGET_S="${MM_GPU_BUDGET_S:-900}" bash benchmarks/gpu/run.sh
