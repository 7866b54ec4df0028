#!/usr/bin/env bash
# Runs every CSQ test: unit, router, contract suites and end-to-end.
# Works on a fresh machine with only the Rust toolchain and Python 3.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo test --workspace --all-targets "$@"
