#!/usr/bin/env bash
# Gets NVIDIA's ptxas without a GPU and without installing CUDA: Debian bookworm's non-free
# nvidia-cuda-toolkit (11.8) is downloaded through this machine's own Debian source with the non-free
# component added in a private apt state folder, and unpacked (not installed). PtxCompileTests finds it
# through MM_PTXAS and assembles every kernel's PTX for sm_80 and sm_90 with it.
#
# Usage: tools/ptxas/setup.sh [ROOT]       ROOT defaults to /opt/minimind-ptxas. Prints ptxas's path on
# stdout; progress goes to stderr. Nothing to do when ROOT already holds a working ptxas.
set -euo pipefail
ROOT=${1:-/opt/minimind-ptxas}
PTXAS=$ROOT/usr/bin/ptxas

if [ -x "$PTXAS" ] && "$PTXAS" --version >/dev/null 2>&1; then
  echo "$PTXAS"
  exit 0
fi

# The first Debian archive this machine already uses (not its security archive), with non-free.
SRC=/etc/apt/sources.list.d/debian.sources
URI=$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }' "$SRC" 2>/dev/null || true)
[ -n "$URI" ] || { echo "ptxas: no Debian URIs found in $SRC" >&2; exit 1; }

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/parts" "$WORK/lists/partial"
printf 'Types: deb\nURIs: %s\nSuites: bookworm\nComponents: non-free\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$URI" \
  > "$WORK/parts/non-free.sources"
A=(-o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$WORK/parts" -o "Dir::State::Lists=$WORK/lists")
echo "ptxas: downloading bookworm non-free nvidia-cuda-toolkit (unpacked into $ROOT, not installed)" >&2
apt-get "${A[@]}" update -q >&2
(cd "$WORK" && apt-get "${A[@]}" download nvidia-cuda-toolkit >&2)
rm -rf "$ROOT.partial"
dpkg -x "$WORK"/nvidia-cuda-toolkit_*.deb "$ROOT.partial"
"$ROOT.partial/usr/bin/ptxas" --version >&2
rm -rf "$ROOT"
mv "$ROOT.partial" "$ROOT"
echo "$PTXAS"
