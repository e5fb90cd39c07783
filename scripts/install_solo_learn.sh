#!/usr/bin/env bash
# Install solo-learn v1.0.6 (commit 9187ea3) from a local checkout into $PYTHON's environment.
#   SOLO_LEARN_DIR=/path/to/solo-learn PYTHON=.venv/bin/python scripts/install_solo_learn.sh
#   scripts/install_solo_learn.sh --check   # only check that a checkout is there (no work done)
# solo-learn is not on PyPI (the registry's `solo-learn` is a 2021 release pinned to torch 1.9).
# Its setup.py imports pkg_resources (setuptools < 81) and pins lightning==2.1.2 and
# torchmetrics<0.12, which do not run on today's torch: we install it with --no-deps (the plugin's
# `solo` extra brings working versions) and editable, so main_pretrain.py is found from `solo`.
set -euo pipefail
PYTHON=${PYTHON:-python3}
COMMIT=9187ea3
hint() {
  cat >&2 <<MSG
solo-tase needs a solo-learn checkout (v1.0.6, commit $COMMIT); none was found.
  git clone https://github.com/vturrisi/solo-learn ../solo-learn
  git -C ../solo-learn checkout $COMMIT
then run the command again (or point SOLO_LEARN_DIR=/path/to/solo-learn at your checkout).
MSG
  exit 1
}
dir=${SOLO_LEARN_DIR:-}
if [ -z "$dir" ]; then
  for d in ./solo-learn ../solo-learn; do [ -f "$d/main_pretrain.py" ] && dir=$d && break; done
fi
[ -n "$dir" ] && [ -f "$dir/main_pretrain.py" ] || hint
dir=$(cd "$dir" && pwd)
if [ "${1:-}" = "--check" ]; then echo "solo-learn checkout: $dir"; exit 0; fi
if [ -d "$dir/.git" ]; then
  head=$(git -C "$dir" rev-parse --short=7 HEAD 2>/dev/null || echo unknown)
  [ "$head" = "$COMMIT" ] || echo "warning: $dir is at $head, solo-tase is tested with $COMMIT" >&2
fi
installed=$("$PYTHON" - <<'PY' 2>/dev/null || true
import os, solo
print(os.path.dirname(os.path.dirname(os.path.abspath(solo.__file__))))
PY
)
if [ "$installed" = "$dir" ]; then exit 0; fi
echo "installing solo-learn from $dir"
"$PYTHON" -m pip install -q 'setuptools<81'
"$PYTHON" -m pip install -q --no-deps --no-build-isolation -e "$dir"
