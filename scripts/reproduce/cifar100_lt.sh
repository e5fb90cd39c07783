#!/usr/bin/env bash
# Reproduce the cifar100-lt benchmark: all methods, evaluated under the default preset
# bcl: full-shot, 100-shot and 50-shot (another one: --preset), comparison tables, zoo entries.
# Usage: scripts/reproduce/cifar100_lt.sh --data-root DIR [--dry-run] [--set OVERRIDE ...]
exec python "$(dirname "$0")/reproduce.py" cifar100-lt "$@"
