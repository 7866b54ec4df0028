#!/usr/bin/env bash
# Page checks in a real browser: the dashboard, the public report and the
# rating page of a demo host, in headless Chromium (Debian's package), with
# axe-core from npm. Installs what it needs; prints its results.
# `--prepare` installs them and stops (the test command does it during its build).
set -euo pipefail
cd "$(dirname "$0")/.."
prepare_only=false
if [ "${1:-}" = "--prepare" ]; then prepare_only=true; fi

if ! command -v chromium >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "== installing chromium (Debian package)"
    apt-get install -y -qq chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }
  else
    echo "page checks: chromium is not installed and cannot be installed here (needs root and apt); skipped" >&2
    exit 0
  fi
fi
venv=.venv-pages
stamp="$venv/.installed-$(sha256sum infra/pages/requirements.txt | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r infra/pages/requirements.txt
  touch "$stamp"
fi
if ! cmp -s infra/pages/package.json target/pages/package.json || [ ! -d target/pages/node_modules/oidc-provider ]; then
  mkdir -p target/pages && cp infra/pages/package.json target/pages/
  (cd target/pages && npm install --silent --no-audit --no-fund >/dev/null)
fi

if $prepare_only; then exit 0; fi

# The test command's own build (the same targets, so the same features): after
# it, nothing to do. `--bin csq` alone resolved features differently and rebuilt
# the store and the host crates in every CI run.
cargo build --quiet --workspace --tests --bins
data=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
CSQ_NIGHTLY_AT=off target/debug/csq --data-dir "$data" serve --demo --bind "127.0.0.1:$port" > target/page-check-host.log 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 1 300); do grep -q "CSQ is running" target/page-check-host.log && break; sleep 0.5; done
token=$(grep "Staff token:" target/page-check-host.log | awk '{print $3}')
link=$(grep -o "http://127.0.0.1:$port/f/[^ ]*" target/page-check-host.log | head -1)

# A second host whose staff sign in at an OpenID provider on loopback.
free() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
oport=$(free); hport=$(free); odata=$(mktemp -d)
cp infra/pages/oidc-issuer.mjs target/pages/
node target/pages/oidc-issuer.mjs "$oport" "http://127.0.0.1:$hport/dashboard" > target/page-check-issuer.log 2>&1 &
opid=$!
for _ in $(seq 1 100); do grep -q "issuer ready" target/page-check-issuer.log && break; sleep 0.2; done
CSQ_OIDC_ISSUER="http://127.0.0.1:$oport" CSQ_OIDC_CLIENT_ID=csq-console CSQ_NIGHTLY_AT=off \
  target/debug/csq --data-dir "$odata" serve --demo --bind "127.0.0.1:$hport" > target/page-check-oidc-host.log 2>&1 &
hpid=$!
trap 'kill $pid $opid $hpid 2>/dev/null || true; rm -rf "$data" "$odata"' EXIT
for _ in $(seq 1 300); do grep -q "CSQ is running" target/page-check-oidc-host.log && break; sleep 0.5; done

otoken=$(grep "Staff token:" target/page-check-oidc-host.log | awk '{print $3}')
"$venv/bin/python" infra/pages/check.py "http://127.0.0.1:$port" "$token" "$link" target/pages/node_modules/axe-core/axe.min.js "$data/outbox" "http://127.0.0.1:$hport" "$otoken"
