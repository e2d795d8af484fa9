#!/usr/bin/env bash
# Runs every installer in scripts/deps.d/ in name order (00-apt.sh first). Each is idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
for s in scripts/deps.d/*.sh; do
  bash "$s"
done
