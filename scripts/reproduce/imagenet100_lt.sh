#!/usr/bin/env bash
# Reproduce the imagenet100-lt benchmark: all methods, evaluated under the default preset
# sdclr: full-shot and 1% few-shot (another one: --preset), comparison tables, zoo entries.
# Usage: scripts/reproduce/imagenet100_lt.sh --data-root DIR [--dry-run] [--set OVERRIDE ...]
exec python "$(dirname "$0")/reproduce.py" imagenet100-lt "$@"
