#!/usr/bin/env bash
# Installs the system packages eosin needs (Debian bookworm). Idempotent and quick when
# everything is already installed: apt is only consulted for what is missing.
set -euo pipefail
pkgs=(
  # MuPDF (rendering through go-fitz, -tags extlib) and its static dependencies
  libmupdf-dev libmujs-dev libgumbo-dev libopenjp2-7-dev libjbig2dec0-dev libharfbuzz-dev
  libfreetype-dev libjpeg-dev
  # Tesseract + Leptonica (OCR through gosseract) and its models
  libtesseract-dev libleptonica-dev tesseract-ocr tesseract-ocr-eng tesseract-ocr-osd
  # reference tools the tests compare against, and test-corpus helpers
  poppler-utils mupdf-tools img2pdf python3 python3-zstd
  # packages the test-corpus fetch uses
  dpkg-dev
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
