#!/usr/bin/env bash
# Find (or clone) the solo-learn release solo-tase pins and install it into $PYTHON's environment.
#   PYTHON=.venv/bin/python scripts/install_solo_learn.sh   # find or clone, then install
#   scripts/install_solo_learn.sh --get      # find or clone only (needs git and the network to clone)
#   scripts/install_solo_learn.sh --check    # find only: print the checkout and its commit
#   scripts/install_solo_learn.sh --places   # print the search order, one path a line
# The places, in order, the commit and the URL come from solo_tase/solo_compat.py (the one list,
# which Python's find_solo_learn_dir uses too). The first place holding main_pretrain.py is used as
# it is (with a warning when it is at another commit); when there is none, --get and the default
# clone one into the first place and check its commit.
# Exit code 3: no checkout could be had (the message gives the commands to get one).
# solo-learn's setup.py imports pkg_resources (setuptools < 81) and pins lightning==2.1.2 and
# torchmetrics<0.12, which do not run on today's torch: we install it with --no-deps (the plugin's
# `solo` extra brings working versions) and editable, so main_pretrain.py is found from `solo`.
set -euo pipefail
PYTHON=${PYTHON:-python3}
mode=${1:-install}
case $mode in
  install|--get|--check|--places) ;;
  *) echo "usage: $0 [--get|--check|--places]" >&2; exit 2;;
esac
compat="$(cd "$(dirname "$0")/.." && pwd)/solo_tase/solo_compat.py"
COMMIT=$("$PYTHON" "$compat" commit)
URL=$("$PYTHON" "$compat" url)
places=()
while IFS= read -r place; do places+=("$place"); done < <("$PYTHON" "$compat" places)
[ ${#places[@]} -gt 0 ] || { echo "$0: $PYTHON $compat places printed nothing" >&2; exit 1; }
if [ "$mode" = --places ]; then printf '%s\n' "${places[@]}"; exit 0; fi
target=${places[0]}  # where a clone goes: $SOLO_LEARN_DIR, else ./solo-learn

no_checkout() {  # $1: why
  {
    echo "solo-tase needs a solo-learn checkout (v1.0.6, commit $COMMIT): $1."
    echo "Looked in: ${places[*]}"
    echo "Get one (where git and the network are available), then run the command again:"
    echo "  git clone $URL $target"
    echo "  git -C $target checkout $COMMIT"
    echo "or copy a checkout to one of the places above, or set SOLO_LEARN_DIR=/path/to/solo-learn."
  } >&2
  exit 3
}

commit_of() {  # full commit of the checkout $1, or "unknown" (not a git checkout, no git)
  if [ -e "$1/.git" ]; then
    git -c safe.directory="$1" -C "$1" rev-parse HEAD 2>/dev/null || echo unknown
  else
    echo unknown
  fi
}

clone() {
  if [ -e "$target" ] && [ -n "$(ls -A "$target" 2>/dev/null)" ]; then
    no_checkout "$target exists but holds no main_pretrain.py (empty it, remove it or set SOLO_LEARN_DIR elsewhere; nothing there is touched)"
  fi
  command -v git >/dev/null 2>&1 || no_checkout "none was found and git is not installed"
  mkdir -p "$(dirname "$target")"
  tmp="$(dirname "$target")/.$(basename "$target").clone-$$"
  trap 'rm -rf "$tmp"' EXIT
  echo "no solo-learn checkout found: cloning $URL ($COMMIT) into $target" >&2
  GIT_TERMINAL_PROMPT=0 git clone -q "$URL" "$tmp" </dev/null \
    || no_checkout "none was found and \`git clone $URL\` failed (no network?)"
  git -C "$tmp" -c advice.detachedHead=false checkout -q "$COMMIT" \
    || no_checkout "the clone has no commit $COMMIT"
  [[ $(commit_of "$tmp") == "$COMMIT"* ]] || no_checkout "the clone is not at commit $COMMIT"
  if [ -d "$target" ]; then rmdir "$target"; fi
  mv "$tmp" "$target"
}

dir=
for d in "${places[@]}"; do
  if [ -f "$d/main_pretrain.py" ]; then dir=$d; break; fi
done
if [ -z "$dir" ]; then
  [ "$mode" = --check ] && no_checkout "none was found"
  clone
  dir=$target
fi
dir=$(cd "$dir" && pwd)
head=$(commit_of "$dir")
if [ "$head" = unknown ]; then
  echo "warning: $dir is not a git checkout: its commit cannot be checked (solo-tase is tested with $COMMIT); using it as it is" >&2
elif [[ $head != "$COMMIT"* ]]; then
  echo "warning: $dir is at commit ${head:0:7}, solo-tase is tested with $COMMIT; using it as it is" >&2
fi
echo "solo-learn checkout: $dir (commit ${head:0:7})"
[ "$mode" = install ] || exit 0

installed=$("$PYTHON" - <<'PY' 2>/dev/null || true
import os, solo
print(os.path.dirname(os.path.dirname(os.path.abspath(solo.__file__))))
PY
)
if [ "$installed" = "$dir" ]; then exit 0; fi
echo "installing solo-learn from $dir"
"$PYTHON" -m pip install -q 'setuptools<81' || exit 1
"$PYTHON" -m pip install -q --no-deps --no-build-isolation -e "$dir" || exit 1
