#!/usr/bin/env bash
# Reproduce the cifar10-lt benchmark: all methods, evaluated under the default preset
# sdclr: full-shot and 1% few-shot (another one: --preset), comparison tables, zoo entries.
# Usage: scripts/reproduce/cifar10_lt.sh --data-root DIR [--dry-run] [--set OVERRIDE ...]
exec python "$(dirname "$0")/reproduce.py" cifar10-lt "$@"
