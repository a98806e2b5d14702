#!/usr/bin/env bash
# Installs the named Debian packages that are missing, or says why it cannot.
# Usage: tools/ensure_packages.sh PACKAGE...   (one place for the project's installs)
set -euo pipefail
missing=()
for pkg in "$@"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "uring: missing Debian packages: ${missing[*]}; this machine has no apt-get, install them by hand" >&2
  exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "uring: missing Debian packages: ${missing[*]}; run as root or: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "uring: installing ${missing[*]} (first use on this machine)" >&2
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
if ! { apt-get update -qq && apt-get install -y -qq "${missing[@]}"; } >"$log" 2>&1; then
  tail -n 20 "$log" >&2
  echo "uring: apt-get could not install ${missing[*]} (output above)" >&2
  rm -f "$log"
  exit 1
fi
rm -f "$log"
