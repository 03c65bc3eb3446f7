#!/usr/bin/env bash
# Install the Debian packages a target needs, when missing and when we may (root + apt-get).
# Usage: scripts/system-packages.sh run|test|frontend
set -euo pipefail

target=${1:-test}
case "$target" in
  run)  wanted="orthanc:/usr/sbin/Orthanc orthanc-dicomweb:/usr/share/orthanc/plugins/libOrthancDicomWeb.so fonts-dejavu-core:/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf" ;;
  test) wanted="orthanc:/usr/sbin/Orthanc orthanc-dicomweb:/usr/share/orthanc/plugins/libOrthancDicomWeb.so redis-server:redis-server postgresql-15:/usr/lib/postgresql/15/bin/initdb chromium:/usr/bin/chromium nodejs:node npm:npm fonts-dejavu-core:/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf nginx:/usr/sbin/nginx docker-compose:docker-compose prometheus:promtool prometheus-postgres-exporter:prometheus-postgres-exporter prometheus-redis-exporter:prometheus-redis-exporter" ;;
  # Building the web app (make run and make test both build it first).
  frontend) wanted="nodejs:node npm:npm" ;;
  *) echo "usage: $0 run|test|frontend" >&2; exit 2 ;;
esac

missing=()
for entry in $wanted; do
  pkg=${entry%%:*}; probe=${entry#*:}
  if [[ $probe == /* ]]; then [[ -e $probe ]] || missing+=("$pkg")
  else command -v "$probe" >/dev/null 2>&1 || missing+=("$pkg"); fi
done
# Any installed PostgreSQL major version will do for the tests.
if [[ " ${missing[*]-} " == *" postgresql-15 "* ]] && compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
  missing=("${missing[@]/postgresql-15}")
fi
missing=($(printf '%s\n' "${missing[@]-}" | grep -v '^$' || true))
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
  echo "system-packages: missing ${missing[*]}; install them with: sudo apt-get install -y ${missing[*]}" >&2
  exit 0
fi
echo "system-packages: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# Package post-install scripts try to start system services; we run our own instances.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [[ ! -e $policy ]]; then printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod +x "$policy"; created_policy=1; fi
trap '[[ $created_policy -eq 1 ]] && rm -f "$policy"' EXIT
apt-get update -qq || true
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || \
  echo "system-packages: could not install ${missing[*]}" >&2
