#!/usr/bin/env bash
# CSQ's benchmark: each figure beside a baseline measured in the same run (see
# BENCHMARKS.md for the goals and the last results). Installs what it needs.
#
#   bash scripts/bench.sh            sizes, cold starts, the deployable binaries run
#                                    through a fake Lambda Runtime API (≈ 8 min
#                                    after a first build)
#   bash scripts/bench.sh --build    also `sam build`: cold, then after a one-line
#                                    change in the core (≈ 10 min more)
#   bash scripts/bench.sh --scale    also the DynamoDB requests of a nightly run by
#                                    day and table size, the embedded store at an
#                                    office's volume (5 and 20 working days), and the
#                                    local host's throughput (≈ 45 min)
#   bash scripts/bench.sh --year     only the embedded store at a year of Hai Phong's volume
#                                    (250 working days of 12,000 declarations, written
#                                    in bulk through the store's write paths, every
#                                    night's job run), beside a month made by the same
#                                    command (≈ 1.5 hours: the year ≈ 80 min)
#   bash scripts/bench.sh --all      all of it
#
# RUNS=15 sets the cold starts per binary.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

build=false; scale=false; year=false; lambdas=true
for a in "$@"; do
  case $a in
    --build) build=true ;;
    --scale) scale=true ;;
    --year) year=true; [ $# -eq 1 ] && lambdas=false ;;
    --all) build=true; scale=true; year=true ;;
    *) echo "unknown option $a" >&2; exit 2 ;;
  esac
done

# The deployable functions (and --build, --scale): all but `--year` given alone.
if $lambdas; then
install_venv .venv infra/requirements-test.txt
install_tool lambda cargo-lambda==1.9.2
export PATH="$PWD/.tools/lambda/bin:$PATH"

echo "== machine: $(nproc) cores, $(uname -m), $(rustc --version)"

if $build; then
  install_tool sam aws-sam-cli==1.170.0
  export SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-ap-southeast-1}"
  echo "== sam build, cold (the lambda profile's target directory removed)"
  rm -rf target/x86_64-unknown-linux-gnu/lambda target/lambda .aws-sam/build
  start=$(date +%s)
  .tools/sam/bin/sam build --template-file template.yaml > target/bench-sam-build.log 2>&1
  cold=$(( $(date +%s) - start ))
  echo "  sam build cold: ${cold} s (goal ≤ 360 s)"
  echo "== sam build after a one-line change in the core"
  cp shared/core/src/domain/rating_scale.rs target/bench-rating_scale.rs.orig
  trap 'cp target/bench-rating_scale.rs.orig shared/core/src/domain/rating_scale.rs' EXIT
  echo "pub const BENCH_ONE_LINE_CHANGE: u32 = $(date +%s);" >> shared/core/src/domain/rating_scale.rs
  start=$(date +%s)
  .tools/sam/bin/sam build --template-file template.yaml >> target/bench-sam-build.log 2>&1
  warm=$(( $(date +%s) - start ))
  cp target/bench-rating_scale.rs.orig shared/core/src/domain/rating_scale.rs
  trap - EXIT
  echo "  sam build after the change: ${warm} s (goal ≤ 120 s)"
  echo "  (rebuilding once more without the change)"
fi

echo "== building the functions (make lambdas: what sam build runs) and the baseline"
start=$(date +%s)
# The baseline in the same cargo invocation as the functions, so in the same feature set
# (it adds no feature: the functions come out as `sam build` makes them).
make --no-print-directory lambdas PACKAGES="$(make --no-print-directory -s print-packages) csq-cold-start-baseline" > target/bench-build.log 2>&1
echo "  took $(( $(date +%s) - start )) s"

echo "== size: stripped binary and zipped (deflate -9, as the deployment package)"
python3 - <<'PY'
import io, os, zipfile
print(f"  {'binary':<20} {'stripped':>10} {'zipped':>10}")
for name in ["cold-start-baseline", "issue-form", "rating-form", "complaint-router", "nightly", "staff-api"]:
    path = f"target/lambda/{name}/bootstrap"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.write(path, "bootstrap")
    mb = lambda n: n / 1048576
    print(f"  {name:<20} {mb(os.path.getsize(path)):7.2f} MB {mb(len(buf.getvalue())):7.2f} MB")
PY
echo "  goal: each function ≤ 10 MB stripped, ≤ 4 MB zipped"

echo "== cold starts and the binaries at work (moto on loopback)"
start_moto target/bench-moto.log
trap 'kill $moto_pid 2>/dev/null || true' EXIT
cargo build --quiet -p csq-bench
target/debug/csq-bench cold-start --bin-dir target/lambda --runs "${RUNS:-15}" --steps-json target/bench-steps.json

echo "== cost model (scripts/cost_model.py, from the requests measured above)"
python3 scripts/cost_model.py target/bench-steps.json

if $scale; then
  echo "== DynamoDB requests of a nightly run, by the day's ratings and the table's size"
  # 10x below the issue's 1,000 and 10,000 ratings a day: the emulator keeps items in
  # Python memory and reads an index by walking the table. Set CASES for more.
  target/debug/csq-bench nightly-requests --bin-dir target/lambda --cases "${CASES:-100:0,100:1000,1000:1000}"
  echo "== the embedded store at Hai Phong's volume (12,000 declarations a working day, 30 % rated)"
  cargo build --quiet --profile bench -p csq-bench
  for days in ${EMBEDDED_DAYS:-5 20}; do
    target/release/csq-bench embedded-scale --days "$days" --per-day 12000 --rated 0.3
  done
  echo "== local host throughput (cargo bench -p csq-tests: page + submission over loopback)"
  CSQ_BENCH_FORMS=${CSQ_BENCH_FORMS:-2000} cargo bench -p csq-tests --bench submissions
fi
fi

if $year; then
  echo "== the embedded store at a month and at a year of Hai Phong's volume (bulk: the"
  echo "   records the use cases write, through the store's write paths; every night's job run)"
  cargo build --quiet --profile bench -p csq-bench
  for days in ${YEAR_DAYS:-22 250}; do
    target/release/csq-bench embedded-scale --bulk --days "$days" --per-day 12000 --rated 0.3
  done
fi
