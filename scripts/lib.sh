# Shell helpers shared by scripts/test.sh and scripts/bench.sh (sourced).

# Marks when a run began (once: CI's run and the test command it calls share it).
run_started() {
  export CSQ_RUN_STARTED="${CSQ_RUN_STARTED:-$(date +%s)}"
}

# A step's heading, with the seconds since the run began: where the time goes.
step() {
  echo "== $* (at $(( $(date +%s) - ${CSQ_RUN_STARTED:-$(date +%s)} )) s)"
}

# Installs a pinned requirements file into its own virtualenv, once per version.
install_venv() {
  local venv=$1 reqs=$2
  local stamp
  stamp="$venv/.installed-$(sha256sum "$reqs" | cut -c1-16)"
  if [ ! -f "$stamp" ]; then
    echo "== installing test tools into $venv ($reqs)"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$reqs"
    touch "$stamp"
  fi
}

# Installs one pinned Python-packaged tool (aws-sam-cli, cargo-lambda) into .tools/NAME.
install_tool() {
  local name=$1 spec=$2
  if [ ! -f ".tools/$name/.installed-$spec" ]; then
    echo "== installing $spec into .tools/$name"
    python3 -m venv ".tools/$name"
    ".tools/$name/bin/pip" install --quiet --disable-pip-version-check "$spec"
    touch ".tools/$name/.installed-$spec"
  fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits (bounded) until something listens on a loopback port.
wait_for_port() {
  for _ in $(seq 1 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing listens on port $1" >&2
  return 1
}

# Starts the AWS emulator on a free loopback port: sets moto_pid and exports
# CSQ_MOTO_ENDPOINT. The caller stops it (its EXIT trap).
start_moto() {
  local port
  port=$(free_port)
  mkdir -p target
  .venv/bin/python infra/emulator/moto_serial.py -H 127.0.0.1 -p "$port" > "${1:-target/moto.log}" 2>&1 &
  moto_pid=$!
  wait_for_port "$port"
  export CSQ_MOTO_ENDPOINT="http://127.0.0.1:$port"
  export AWS_EC2_METADATA_DISABLED=true
}
