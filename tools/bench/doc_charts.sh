#!/usr/bin/env bash
# Redraws docs/charts/*.svg, the charts docs/benchmarks.md embeds, from the tables in docs/benchmarks.md itself
# (minimind plot --table): after a table's figures change, rerun this and commit both.
# MM: the minimind command (default: the Release build of this tree, built first if missing).
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ -z "${MM:-}" ]; then
  dll="artifacts/${MM_SLOT:-}/bin/Minimind.Cli/release/minimind.dll"; dll="${dll//\/\//\/}"
  [ -f "$dll" ] || dotnet build src/Minimind.Cli -c Release >/dev/null
  MM="dotnet $dll"
fi
doc=docs/benchmarks.md
$MM plot --table $doc --section "CPU attention" --index 3 --columns "C# tokens/s,torch 1.13 tokens/s,torch 2.6 tokens/s" \
  --unit "tokens/s (higher is better)" --title "CPU training, minimind-v1, batch 4, 2 threads (quiet machine, 2026-12-01)" \
  --out docs/charts/cpu-training-vs-torch.svg
$MM plot --table $doc --section "CPU attention" --index 1 --columns "after tokens/s,before tokens/s" \
  --unit "tokens/s (higher is better)" --title "CPU training step, blocked attention: after vs before (loaded machine)" \
  --out docs/charts/cpu-attention-after-before.svg
$MM plot --table $doc --section "LoRA with a frozen base" --columns "before: assistant-tokens/s,after: assistant-tokens/s" \
  --unit "assistant-tokens/s (higher is better)" --title "SFT and LoRA steps: frozen LoRA base, before vs after" \
  --out docs/charts/lora-frozen-base.svg
$MM plot --table $doc --section "Checkpoint I/O" --index 1 --columns "run 6 mean / best s,run 7 mean / best s,run 8 mean / best s" \
  --unit "seconds, mean (lower is better)" --title "Loading and saving a 128.8 MB state dict: C# vs torch 1.13 and dd" \
  --out docs/charts/checkpoint-io.svg
