#!/usr/bin/env bash
# sam validate --lint, then sam build, with no Docker and no AWS credentials.
# `--validate-only` stops after validation (what CI runs). sam build runs the
# Makefile in the source tree (samconfig.toml): one `cargo lambda build` of the five
# functions into target/, then a copy per function. Installs aws-sam-cli and
# cargo-lambda into .tools/ on first use. Build times: BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."

validate_only=false
if [ "${1:-}" = "--validate-only" ]; then validate_only=true; shift; fi

source scripts/lib.sh
tools=.tools
install_tool sam aws-sam-cli==1.170.0
if [ "${1:-}" = "--install-only" ]; then exit 0; fi
if $validate_only; then
  export SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-ap-southeast-1}"
  echo "== sam validate --lint"
  exec "$tools/sam/bin/sam" validate --lint --template-file template.yaml
fi
install_tool lambda cargo-lambda==1.9.2
export PATH="$PWD/$tools/lambda/bin:$PATH"
export SAM_CLI_TELEMETRY=0
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-ap-southeast-1}"

echo "== sam validate --lint"
"$tools/sam/bin/sam" validate --lint --template-file template.yaml

echo "== sam build"
start=$(date +%s)
"$tools/sam/bin/sam" build --template-file template.yaml "$@"
echo "== sam build took $(( $(date +%s) - start )) s"
ls -la .aws-sam/build/*/bootstrap
