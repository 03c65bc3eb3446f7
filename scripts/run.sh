#!/usr/bin/env bash
# `make run`: a local Orthanc sandbox PACS (when installed) + the API on the embedded defaults.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV_BIN=.venv/bin
ORTHANC_BIN=${ORTHANC_BIN:-/usr/sbin/Orthanc}
DICOMWEB_PLUGIN=/usr/share/orthanc/plugins/libOrthancDicomWeb.so
ORTHANC_DIR=data/orthanc
ORTHANC_HTTP_PORT=8042
ORTHANC_DICOM_PORT=4242
orthanc_pid=""

cleanup() {
  if [[ -n $orthanc_pid ]] && kill -0 "$orthanc_pid" 2>/dev/null; then
    kill "$orthanc_pid" 2>/dev/null || true
    wait "$orthanc_pid" 2>/dev/null || true
    echo "run: Orthanc sandbox stopped" >&2
  fi
}
trap cleanup EXIT INT TERM

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start_orthanc() {
  if [[ ! -x $ORTHANC_BIN || ! -f $DICOMWEB_PLUGIN ]]; then
    echo "run: Orthanc is not installed (apt-get install orthanc orthanc-dicomweb): NO PACS IS RUNNING; uploads will queue until one is configured" >&2
    return
  fi
  if port_busy "$ORTHANC_HTTP_PORT"; then
    echo "run: port $ORTHANC_HTTP_PORT is already in use; not starting the sandbox Orthanc (using whatever answers there)" >&2
    return
  fi
  mkdir -p "$ORTHANC_DIR/storage" "$ORTHANC_DIR/index"
  cat >"$ORTHANC_DIR/orthanc.json" <<JSON
{
  "Name": "RelayPACS sandbox",
  "StorageDirectory": "$PWD/$ORTHANC_DIR/storage",
  "IndexDirectory": "$PWD/$ORTHANC_DIR/index",
  "HttpPort": $ORTHANC_HTTP_PORT,
  "DicomPort": $ORTHANC_DICOM_PORT,
  "DicomAet": "ORTHANC",
  "RemoteAccessAllowed": false,
  "AuthenticationEnabled": true,
  "RegisteredUsers": { "orthanc": "orthanc" },
  "Plugins": ["$DICOMWEB_PLUGIN"],
  "DicomWeb": { "Enable": true, "Root": "/dicom-web/" }
}
JSON
  "$ORTHANC_BIN" "$ORTHANC_DIR/orthanc.json" >"$ORTHANC_DIR/orthanc.log" 2>&1 &
  orthanc_pid=$!
  for _ in $(seq 1 60); do
    if port_busy "$ORTHANC_HTTP_PORT"; then
      echo "run: Orthanc sandbox PACS on http://127.0.0.1:$ORTHANC_HTTP_PORT (DICOMweb /dicom-web, DICOM port $ORTHANC_DICOM_PORT, user orthanc/orthanc; log $ORTHANC_DIR/orthanc.log)" >&2
      return
    fi
    kill -0 "$orthanc_pid" 2>/dev/null || break
    sleep 0.5
  done
  echo "run: Orthanc failed to start (see $ORTHANC_DIR/orthanc.log): NO PACS IS RUNNING" >&2
  orthanc_pid=""
}

start_orthanc
"$VENV_BIN/relaypacs" db upgrade
echo "run: API on http://${HOST:-127.0.0.1}:${PORT:-8000} (docs at /docs); Ctrl-C stops everything" >&2
"$VENV_BIN/relaypacs" serve &
api_pid=$!
wait "$api_pid"
