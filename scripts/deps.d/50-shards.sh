#!/usr/bin/env bash
# Installs what the shards tests use to check compatibility with real readers and servers:
#   - versitygw (S3-compatible server, posix backend) via `go install`, into $(go env GOPATH)/bin
#   - DuckDB for node (@duckdb/node-api + linux-x64 bindings) into testdata/cache/node-shards
#   - python3-zstd (from 00-apt.sh), python3-xxhash and python3-pil for the MDS checks
# Idempotent and quick when everything is present.
set -euo pipefail
cd "$(dirname "$0")/../.."

missing=()
for p in python3-zstd python3-xxhash python3-pil; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

VERSITYGW_VERSION=v1.8.0
gobin="$(go env GOBIN)"; [ -n "$gobin" ] || gobin="$(go env GOPATH)/bin"
have_vgw=""
if [ -x "$gobin/versitygw" ]; then
  have_vgw="$(go version -m "$gobin/versitygw" 2>/dev/null | awk '$1=="mod" && $2=="github.com/versity/versitygw" {print $3}')"
fi
if [ "$have_vgw" != "$VERSITYGW_VERSION" ]; then
  echo "deps: building versitygw $VERSITYGW_VERSION (takes a few minutes)" >&2
  # GOFLAGS of the repository (-tags=extlib) do not apply to this module.
  GOFLAGS= go install "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION"
fi

NODE_DIR=testdata/cache/node-shards
DUCKDB_VERSION=1.5.6-r.1
if command -v npm >/dev/null 2>&1; then
  if [ ! -f "$NODE_DIR/node_modules/@duckdb/node-api/package.json" ] ||
     [ ! -d "$NODE_DIR/node_modules/@duckdb/node-bindings-linux-x64" ]; then
    echo "deps: installing @duckdb/node-api into $NODE_DIR" >&2
    mkdir -p "$NODE_DIR"
    [ -f "$NODE_DIR/package.json" ] || echo '{"name":"eosin-shards-checks","private":true}' >"$NODE_DIR/package.json"
    npm install --prefix "$NODE_DIR" --no-audit --no-fund --loglevel=error \
      "@duckdb/node-api@$DUCKDB_VERSION" "@duckdb/node-bindings-linux-x64@$DUCKDB_VERSION"
  fi
else
  echo "deps: npm not found; install nodejs and npm for the shards Parquet checks" >&2
  exit 1
fi
