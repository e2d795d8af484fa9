#!/usr/bin/env bash
# Installs Debian's chromium (and a font for it to draw text with), the headless browser the
# inspect package's report test opens the generated HTML report with. Idempotent: apt is only
# consulted for what dpkg-query says is missing.
set -euo pipefail
pkgs=(chromium fonts-dejavu-core)
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
