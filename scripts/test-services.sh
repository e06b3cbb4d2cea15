#!/usr/bin/env bash
# Installs the system services the test suite needs: PostgreSQL (store/API tests run against a
# throwaway cluster the tests start themselves) and Chromium (browser tests).
# Runs the installer when CI=true, or when run as root and something is missing; idempotent and quick
# when everything is already there. The tests start and stop the services; this script only installs.
set -euo pipefail

have_postgres() { compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; }
have_chromium() { command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; }

missing=()
have_postgres || missing+=(postgresql)
have_chromium || missing+=(chromium)

if [ ${#missing[@]} -eq 0 ]; then
    echo "test-services: postgresql and chromium already installed"
    exit 0
fi

if [ "${CI:-}" = "true" ] || [ "$(id -u)" = "0" ]; then
    if [ "$(id -u)" != "0" ]; then
        sudo=(sudo)
    else
        sudo=()
    fi
    echo "test-services: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # The Debian package starts a cluster of its own on 5432; the tests start their own on a free port.
    if command -v pg_lsclusters >/dev/null 2>&1; then
        "${sudo[@]}" pg_ctlcluster --force "$(pg_lsclusters -h | awk 'NR==1{print $1}')" main stop \
            >/dev/null 2>&1 || true
    fi
    echo "test-services: installed ${missing[*]}"
else
    echo "test-services: missing ${missing[*]}; PostgreSQL tests will be skipped (set CI=true or run" \
         "as root to install)" >&2
fi
