#!/usr/bin/env bash
# Makes torch 2.x available on this Debian bookworm machine, whose own python3-torch is 1.13: a minimal
# Debian trixie root holding trixie's python3-torch (2.6) and a wrapper that runs that root's python on
# this machine's files (its own dynamic loader and libraries; no chroot, so every host path stays valid).
# The tests find the wrapper through MM_TORCH2_PYTHON and load the files the writer produced with it.
#
# Usage: tools/torch2/setup.sh [ROOT]      ROOT defaults to /opt/minimind-torch2; needs root (debootstrap).
# Prints the wrapper's path on stdout; progress goes to stderr. Takes about 3 minutes the first time,
# nothing when ROOT already works. A failed build never replaces a working ROOT.
set -euo pipefail
ROOT=${1:-/opt/minimind-torch2}
WRAP=$ROOT/python3-torch2

if [ -x "$WRAP" ] && "$WRAP" -c 'import torch, numpy' >/dev/null 2>&1; then
  echo "$WRAP"
  exit 0
fi
if ! command -v debootstrap >/dev/null; then
  apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >&2
fi

TMP=$ROOT.partial
rm -rf "$TMP"
echo "torch2: building a trixie root with python3-torch in $TMP (about 1.5 GB)" >&2
debootstrap --variant=minbase --include=python3-torch,python3-numpy trixie "$TMP" >&2

PY=$(basename "$(readlink -f "$TMP/usr/bin/python3")")
# usr/lib too: trixie ships some of torch's libraries there (libgloo.so.0), outside the multiarch folders.
cat > "$TMP/python3-torch2" <<WRAPPER
#!/bin/sh
# trixie's $PY with its own loader and libraries, run on this machine's files (written by tools/torch2/setup.sh).
R=\$(dirname "\$(readlink -f "\$0")")
export PYTHONHOME=\$R/usr
exec "\$R/lib64/ld-linux-x86-64.so.2" --library-path "\$R/usr/lib/x86_64-linux-gnu:\$R/lib/x86_64-linux-gnu:\$R/usr/lib" "\$R/usr/bin/$PY" "\$@"
WRAPPER
chmod +x "$TMP/python3-torch2"
"$TMP/python3-torch2" -c 'import torch, numpy, sys; print("torch2: torch", torch.__version__, "on python", sys.version.split()[0], file=sys.stderr)'

rm -rf "$ROOT"
mv "$TMP" "$ROOT"
echo "$WRAP"
