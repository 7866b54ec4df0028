#!/usr/bin/env bash
# Runs every CSQ test: unit, router, contract suites (embedded and AWS adapters),
# end-to-end on the local host and on the AWS path, and the template checks.
# Works on a fresh machine with only the Rust toolchain and Python 3: it
# installs its Python tools (moto, cfn-lint, samtranslator) into .venv itself.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/lib.sh
run_started
VENV=.venv
ST_VENV=.venv-schemathesis
mkdir -p target

# The tools install while the Rust build, the long pole, runs: the test
# emulator and linters, schemathesis, and the page checks' browser and npm
# packages. Everything waits for them before it needs them.
(
  install_venv "$VENV" infra/requirements-test.txt
  install_venv "$ST_VENV" infra/requirements-schemathesis.txt
  bash scripts/page-check.sh --prepare
) > target/tools-install.log 2>&1 &
tools_pid=$!
trap 'kill $tools_pid 2>/dev/null || true' EXIT

# One build for every step: the tests, the function binaries, csq, csq-bench.
step "build: every test target and binary"
cargo build --workspace --tests --bins
step "waiting for the test tools"
if ! wait "$tools_pid"; then
  cat target/tools-install.log >&2
  exit 1
fi

# One AWS emulator for the whole run, on a free loopback port.
start_moto target/moto.log
trap 'kill $moto_pid 2>/dev/null || true' EXIT
# Its transactions roll back through an undo log of their items (fast): checked.
"$VENV/bin/python" infra/emulator/check_rollback.py "$CSQ_MOTO_ENDPOINT"

step "cfn-lint template.yaml"
"$VENV/bin/cfn-lint" template.yaml infra/public-rate-limit-waf.yaml

step "cargo test"
cargo test --workspace "$@"

# The Lambda binaries themselves (debug builds), as Lambda runs them: through a
# fake Runtime API against the emulator, with real event shapes, the whole loop.
step "the function binaries through a fake Lambda Runtime API"
target/debug/csq-bench artifacts --bin-dir target/debug

# Schemathesis against the local host with both OpenAPI documents: no 5xx,
# every response matching its schema, invalid requests refused. Bounded and
# seeded so CI is repeatable; run it without --seed to explore further.
# Allow-header conformance is off (/v1/forms serves both documents' routes).
step "schemathesis: the integration API and the staff API"
st_data=$(mktemp -d)
st_port=$(free_port)
CSQ_NIGHTLY_AT=off RUST_LOG=warn target/debug/csq --data-dir "$st_data" serve --bind "127.0.0.1:$st_port" > target/schemathesis-host.log 2>&1 &
st_pid=$!
trap 'kill $moto_pid $st_pid 2>/dev/null || true; rm -rf "$st_data"' EXIT
wait_for_port "$st_port"
st_key=$(target/debug/csq --data-dir "$st_data" integration-key)
[ -n "$st_key" ] || { echo "csq integration-key printed no key" >&2; exit 1; }
"$ST_VENV/bin/schemathesis" --config-file infra/schemathesis/integration.toml \
  run shared/core/api/integration-v1.yaml \
  --url "http://127.0.0.1:$st_port" -H "Authorization: Bearer $st_key" \
  --max-examples 100 --seed 20261128 --exclude-checks allow_header_conformance
# The staff API, as the department (the broadest view), over the forms the run
# above issued. Schema-valid requests may still be refused: cursors are opaque
# and date ranges have rules (from <= to, at most 366 days) a schema cannot say.
st_token=$(target/debug/csq --data-dir "$st_data" staff-token --role department)
[ -n "$st_token" ] || { echo "csq staff-token printed no token" >&2; exit 1; }
"$ST_VENV/bin/schemathesis" run shared/core/api/staff-v1.yaml \
  --url "http://127.0.0.1:$st_port" -H "Authorization: Bearer $st_token" \
  --max-examples 30 --seed 20261128 \
  --exclude-checks allow_header_conformance,positive_data_acceptance

# The pages in a real browser: console, figures against the API, axe-core (WCAG 2.2 AA).
step "page checks (headless Chromium, axe-core)"
bash scripts/page-check.sh
step "tests done"
