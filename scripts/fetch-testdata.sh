#!/usr/bin/env bash
# Fetches the real test corpus (Debian documentation PDFs with their LaTeX/Sweave sources) into
# testdata/cache/ (git-ignored). Idempotent: a second run
# with everything in place returns at once. Writes testdata/cache/corpus.tsv:
#   package  version  path-relative-to-cache  sha256
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cache="$top/testdata/cache"
stamp="$cache/.complete-v1"
[ -f "$stamp" ] && exit 0
mkdir -p "$cache/debs" "$cache/x"
pkgs=(r-bioc-deseq r-bioc-noiseq r-bioc-ebseq r-bioc-pcamethods r-bioc-hilbertvis
  r-bioc-grohmm r-bioc-metagenomeseq r-bioc-mergeomics r-cran-survival r-cran-surveillance
  r-cran-epi r-cran-vegan r-cran-qtl r-cran-seroincidence
  r-bioc-dnacopy r-bioc-goseq r-bioc-qvalue r-bioc-geneplotter
  dicomscope-doc elastix-doc ctsim-doc 3depict)
cd "$cache/debs"
missing=()
for p in "${pkgs[@]}"; do
  ls "${p}"_*.deb >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "fetch-testdata: downloading ${#missing[@]} Debian packages" >&2
  if ! apt-get download "${missing[@]}" >/dev/null 2>&1; then
    (apt-get update -qq >/dev/null 2>&1 || true)
    apt-get download "${missing[@]}" >/dev/null
  fi
fi
for f in *.deb; do
  p=${f%%_*}
  [ -d "$cache/x/$p" ] || { mkdir -p "$cache/x/$p.tmp" && dpkg -x "$f" "$cache/x/$p.tmp" && mv "$cache/x/$p.tmp" "$cache/x/$p"; }
done
find "$cache/x" -name '*.pdf.gz' | while read -r gz; do
  [ -f "${gz%.gz}" ] || gunzip -kf "$gz"
done
: > "$cache/corpus.tsv.tmp"
for f in *.deb; do
  p=${f%%_*}; v=$(dpkg-deb -f "$f" Version)
  find "$cache/x/$p" -name '*.pdf' | sort | while read -r pdf; do
    printf '%s\t%s\t%s\t%s\n' "$p" "$v" "${pdf#$cache/}" "$(sha256sum "$pdf" | cut -d' ' -f1)" >> "$cache/corpus.tsv.tmp"
  done
done
mv "$cache/corpus.tsv.tmp" "$cache/corpus.tsv"
touch "$stamp"
echo "fetch-testdata: $(wc -l < "$cache/corpus.tsv") PDFs in $cache" >&2
