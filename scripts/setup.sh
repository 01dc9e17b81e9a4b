#!/usr/bin/env bash
# Installs what Treff needs on Debian or Ubuntu, then its npm dependencies.
#   coturn                      the TURN relay `npm start` runs (port 10000)
#   chromium, firefox-esr, ...  the real browsers and network tools the tests drive
#   stress-ng                   loads the CPUs for the flake hunter (npm run test:repeat -- --stress)
#   haproxy, redis-server       the several-nodes tests (docs/scale.md)
# `scripts/setup.sh --production` installs only what a server needs.
set -euo pipefail
cd "$(dirname "$0")/.."

node_major=$(node -p 'process.versions.node.split(".")[0]')
if (( node_major < 20 )); then
  echo "Treff needs Node.js 20 or newer (found $(node --version))." >&2
  exit 1
fi

packages=(coturn openssl)
if [[ "${1:-}" != "--production" ]]; then
  packages+=(chromium firefox-esr fonts-dejavu-core nftables iproute2 nginx-light systemd stress-ng haproxy redis-server)
fi

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done

if (( ${#missing[@]} > 0 )); then
  echo "Installing Debian packages: ${missing[*]}"
  sudo=""
  (( EUID == 0 )) || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi

npm ci --no-audit --no-fund
