#!/usr/bin/env bash
# Runs every CSQ test: unit, router, contract suites (embedded and AWS adapters),
# end-to-end on the local host and on the AWS path, and the template checks.
# Works on a fresh machine with only the Rust toolchain and Python 3: it
# installs its Python tools (moto, cfn-lint, samtranslator) into .venv itself.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv
REQS=infra/requirements-test.txt
stamp="$VENV/.installed-$(sha256sum "$REQS" | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "== installing test tools into $VENV ($REQS)"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQS"
  touch "$stamp"
fi

# One AWS emulator for the whole run, on a free loopback port.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p target
"$VENV/bin/python" infra/emulator/moto_serial.py -H 127.0.0.1 -p "$port" > target/moto.log 2>&1 &
moto_pid=$!
trap 'kill $moto_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done
export CSQ_MOTO_ENDPOINT="http://127.0.0.1:$port"
export AWS_EC2_METADATA_DISABLED=true

echo "== cfn-lint template.yaml"
"$VENV/bin/cfn-lint" template.yaml

cargo test --workspace "$@"
