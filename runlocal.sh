#!/usr/bin/env bash
# runlocal.sh: run a local Velour Fog cluster in the foreground.
#
# Starts 1 controller (127.0.0.1:7000), N storage nodes (7101, 7102, ...) and
# M frontends (8001, 8002, ...), all bound to 127.0.0.1, waits until the
# cluster is ready, prints every URL, then stays in the foreground until
# Ctrl-C (SIGINT) or SIGTERM. On either it stops every process it started
# (by PID: SIGTERM, up to 5 s grace, then SIGKILL), waits for them and
# exits 0.
#
#   ./runlocal.sh [--storage N] [--frontends N] [--redundancy K]
#                 [--partition-digits D] [--zones N] [--log-level L]
#                 [--base-dir DIR] [--timeout SECONDS] [--build] [--help]
#
# What it does, in order:
#   1. Validates the flags (bad flag or value: message on stderr, exit 2).
#   2. Refuses to start (exit 1) if any port it needs is already in use; the
#      check tries to bind each port on 127.0.0.1, as the apps do. It runs
#      before anything is started, and once more just before launching.
#   3. Runs `npm ci` if node_modules is missing. Builds the three apps (with
#      NX_DAEMON=false) if --build is given, or if a dist/apps/*/main.js is
#      missing or older than the newest file under apps/ or libs/. Test-only
#      files (*.spec.ts, *.test.ts, jest.config.*) don't count because they
#      are not build inputs.
#   4. Starts the controller, waits for its /health, then starts the storage
#      nodes and frontends. Waits (default 30 s) until /v1/cluster on the
#      controller says "formed": true and every frontend's /health shows
#      epoch >= 1. If a process exits during start-up, or the deadline
#      passes, it prints the relevant log tail, stops the rest and exits 1.
#   5. Prints the URLs and example curl commands, then keeps watching.
#
# Choice for processes that die after start-up: the cluster tolerates
# failures, so the script reports the death (name, PID, exit status and the
# tail of its log) and keeps the other processes running. You can use this
# to watch failover. Only when every process it started has exited does it
# give up and exit 1.
#
# Files: logs go to DIR/logs/<name>.log (truncated at each start). If the
# storage app supports --data-dir (its --help mentions it), the controller gets
# DIR/data/controller/ and each storage node
# gets DIR/data/<name>/, which is kept between runs. DIR defaults to .runlocal
# in the repository root, which is git-ignored. A relative --base-dir is
# resolved against the directory you run the script from.
#
# Safety: the script only ever signals PIDs it started itself, and only
# while bash's own job table still lists them as running. It never kills by
# name.
#
# Needs bash >= 4.4, node >= 20 and npm. Also uses curl and a few coreutils
# (dirname, env, mkdir, sleep, tail, touch). JSON is parsed with `node -e`.

set -euo pipefail

# A shell without job control starts background jobs with SIGINT ignored
# (e.g. `./runlocal.sh &` inside a script), and bash cannot trap a signal that
# was ignored when it started. In that case re-exec once with SIGINT back to
# its default so that `kill -INT` still stops the cluster cleanly. The PID
# stays the same.
if [[ -z ${RUNLOCAL_SIGINT_RESET:-} && $(trap -p INT) == *"''"* ]]; then
  if env --default-signal=INT true 2>/dev/null; then
    exec env --default-signal=INT RUNLOCAL_SIGINT_RESET=1 "$BASH" "${BASH_SOURCE[0]}" "$@"
  fi
  printf 'runlocal: note: SIGINT is ignored in this environment; stop the cluster with SIGTERM\n' >&2
fi
unset RUNLOCAL_SIGINT_RESET

readonly HOST=127.0.0.1
readonly CONTROLLER_PORT=7000
readonly STORAGE_BASE_PORT=7100  # storage node i (1-based) listens on 7100+i
readonly FRONTEND_BASE_PORT=8000 # frontend i (1-based) listens on 8000+i
readonly STOP_GRACE_TENTHS=50    # 5 s between SIGTERM and SIGKILL
readonly LOG_TAIL_LINES=20
readonly APPS=(controller frontend storage)

usage() {
  cat <<'EOF'
Usage: ./runlocal.sh [options]

Run a local Velour Fog cluster in the foreground: 1 controller on
127.0.0.1:7000, storage nodes on 7101, 7102, ..., frontends on 8001, 8002, ...
Ctrl-C (or SIGTERM) stops every process the script started.

Options:
  --storage N            storage nodes to start (default 4, max 899)
  --frontends N          frontends to start (default 2, max 999)
  --redundancy K         replicas per partition, 1..N (default 3)
  --partition-digits D   16^D partitions, 1..4 (default 2)
  --zones N              spread storage nodes over zones z1..zN, round-robin
                         (default 1, at most the number of storage nodes)
  --log-level L          debug | info | warn | error (default info)
  --base-dir DIR         logs in DIR/logs/<name>.log, data in DIR/data/<name>/
                         (default: .runlocal in the repository root)
  --timeout SECONDS      how long to wait for the cluster to become ready
                         (default 30)
  --build                always rebuild the apps first (otherwise only when
                         dist/ is missing or older than apps/ or libs/)
  -h, --help             show this help and exit

Options also accept the --flag=value form. Exit status: 0 after a requested
stop (Ctrl-C or SIGTERM), 1 if start-up fails, 2 for bad flags.
EOF
}

say() { printf 'runlocal: %s\n' "$*"; }
warn() { printf 'runlocal: %s\n' "$*" >&2; }
die() {
  warn "error: $*"
  exit 1
}
die_usage() {
  warn "error: $*"
  warn "run './runlocal.sh --help' for usage"
  exit 2
}

# ---------------------------------------------------------------- flags ---

storage=4
frontends=2
redundancy=3
digits=2
zones=1
log_level=info
base_dir=
timeout=30
force_build=0

while (($# > 0)); do
  arg=$1
  case $arg in
    -h | --help)
      usage
      exit 0
      ;;
    --build)
      force_build=1
      shift
      continue
      ;;
    --help=* | --build=*) die_usage "${arg%%=*} takes no value" ;;
    --*=*)
      name=${arg%%=*}
      value=${arg#*=}
      shift
      ;;
    --*)
      name=$arg
      (($# >= 2)) || die_usage "$name needs a value"
      value=$2
      shift 2
      ;;
    *) die_usage "unexpected argument '$arg'" ;;
  esac
  case $name in
    --storage) storage=$value ;;
    --frontends) frontends=$value ;;
    --redundancy) redundancy=$value ;;
    --partition-digits) digits=$value ;;
    --zones) zones=$value ;;
    --log-level) log_level=$value ;;
    --base-dir) base_dir=$value ;;
    --timeout) timeout=$value ;;
    *) die_usage "unknown flag '$name'" ;;
  esac
done

# require_int NAME VALUE MIN MAX: VALUE must be a decimal integer in [MIN, MAX].
require_int() {
  local name=$1 value=$2 min=$3 max=$4
  if [[ ! $value =~ ^[0-9]{1,9}$ ]] || ((10#$value < min || 10#$value > max)); then
    die_usage "$name must be an integer from $min to $max (got '$value')"
  fi
}

require_int --storage "$storage" 1 899
storage=$((10#$storage))
require_int --frontends "$frontends" 1 999
frontends=$((10#$frontends))
if [[ ! $redundancy =~ ^[0-9]{1,9}$ ]] || ((10#$redundancy < 1 || 10#$redundancy > storage)); then
  die_usage "--redundancy must be an integer from 1 to the number of storage nodes ($storage); got '$redundancy'"
fi
redundancy=$((10#$redundancy))
require_int --partition-digits "$digits" 1 4
digits=$((10#$digits))
require_int --zones "$zones" 1 "$storage"
zones=$((10#$zones))
require_int --timeout "$timeout" 1 3600
timeout=$((10#$timeout))
case $log_level in
  debug | info | warn | error) ;;
  *) die_usage "--log-level must be one of debug, info, warn, error (got '$log_level')" ;;
esac

invocation_dir=$PWD
repo_root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
if [[ -z $base_dir ]]; then
  base_dir=$repo_root/.runlocal
elif [[ $base_dir != /* ]]; then
  while [[ $base_dir == ./* ]]; do base_dir=${base_dir#./}; done
  base_dir=$invocation_dir/$base_dir
fi
readonly LOG_DIR=$base_dir/logs
readonly DATA_DIR=$base_dir/data
cd -- "$repo_root"

command -v node >/dev/null 2>&1 || die "node is not on PATH (Node.js 20 or newer is needed)"
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' ||
  die "Node.js 20 or newer is needed (found $(node --version))"
command -v curl >/dev/null 2>&1 || die "curl is not on PATH"

# ---------------------------------------------------------------- ports ---

ports=("$CONTROLLER_PORT")
for ((i = 1; i <= storage; i++)); do ports+=("$((STORAGE_BASE_PORT + i))"); done
for ((i = 1; i <= frontends; i++)); do ports+=("$((FRONTEND_BASE_PORT + i))"); done

# Try to bind every port on HOST, as the apps will. Print the busy ones.
# shellcheck disable=SC2016 # ${...} below is JavaScript, not shell
readonly PORT_CHECK_JS='
const net = require("net");
const [host, ...ports] = process.argv.slice(1);
(async () => {
  const busy = [];
  for (const port of ports.map(Number)) {
    const err = await new Promise((resolve) => {
      const srv = net.createServer();
      srv.once("error", resolve);
      srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(null)));
    });
    if (err) busy.push(`${port} (${err.code || err.message})`);
  }
  if (busy.length > 0) {
    console.log(busy.join(", "));
    process.exit(1);
  }
})();
'

check_ports() {
  local busy rc=0
  busy=$(node -e "$PORT_CHECK_JS" "$HOST" "${ports[@]}") || rc=$?
  if ((rc == 1)); then
    die "refusing to start: port(s) already in use on $HOST: $busy. Stop whatever is listening there first."
  elif ((rc != 0)); then
    die "could not check the ports (node exited with status $rc)"
  fi
}
check_ports

# --------------------------------------------------------- install/build ---

if [[ ! -d node_modules ]]; then
  say "node_modules is missing: running npm ci"
  command -v npm >/dev/null 2>&1 || die "npm is not on PATH"
  npm ci --no-audit --no-fund || die "npm ci failed"
fi

# Exit 0 if the build is up to date. Otherwise print why and exit 1.
# shellcheck disable=SC2016 # ${...} below is JavaScript, not shell
readonly STALE_CHECK_JS='
const fs = require("fs");
const path = require("path");
const outputs = process.argv.slice(1).map((app) => `dist/apps/${app}/main.js`);
let oldest = Infinity;
for (const out of outputs) {
  let st;
  try { st = fs.statSync(out); } catch { console.log(`${out} is missing`); process.exit(1); }
  oldest = Math.min(oldest, st.mtimeMs);
}
const testOnly = /(\.spec\.[cm]?[jt]sx?|\.test\.[cm]?[jt]sx?|(^|\/)jest\.config\.[cm]?[jt]s)$/;
const walk = (dir) => {
  let entries;
  try { entries = fs.readdirSync(dir, { withFileTypes: true }); } catch { return; }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== "node_modules") walk(p);
    } else if (e.isFile() && !testOnly.test(p) && fs.statSync(p).mtimeMs > oldest) {
      console.log(`${p} is newer than the build`);
      process.exit(1);
    }
  }
};
walk("apps");
walk("libs");
'

build_reason=
if ((force_build)); then
  build_reason="--build given"
elif ! stale=$(node -e "$STALE_CHECK_JS" "${APPS[@]}"); then
  build_reason=${stale:-cannot tell whether dist/ is current}
fi
if [[ -n $build_reason ]]; then
  say "building the apps ($build_reason)"
  NX_DAEMON=false npx --no-install nx run-many -t build --projects=controller,frontend,storage --output-style=static ||
    die "build failed"
  for app in "${APPS[@]}"; do
    [[ -f dist/apps/$app/main.js ]] || die "build did not produce dist/apps/$app/main.js"
  done
  # Nx can restore unchanged outputs from its cache without rewriting them.
  # Touch them so the staleness check above holds until the sources change.
  for app in "${APPS[@]}"; do touch -- "dist/apps/$app/main.js"; done
fi

storage_help=$(node dist/apps/storage/main.js --help 2>&1 || true)
use_data_dir=0
if [[ $storage_help == *--data-dir* ]]; then use_data_dir=1; fi

# ------------------------------------------------------- process control ---

names=()    # process name, e.g. storage-2
pids=()     # its PID (our direct child: the node process itself)
logs=()     # its log file
gone=()     # 1 once we have seen it exit
stopping=0
monitor_sleep_pid=

# The PIDs of our still-running background jobs, as bash's job table says.
# Bash reaps its children itself, so a PID listed here is still ours.
running_list() {
  local list
  list=$(jobs -rp)
  printf ' %s ' "${list//$'\n'/ }"
}

print_tail() {
  local log=$1 line
  if [[ -s $log ]]; then
    tail -n "$LOG_TAIL_LINES" -- "$log" | while IFS= read -r line; do printf '    | %s\n' "$line"; done
  else
    printf '    (log is empty)\n'
  fi
}

describe_status() {
  local rc=$1
  if ((rc > 128)); then
    printf 'was killed by signal %d' "$((rc - 128))"
  else
    printf 'exited with status %d' "$rc"
  fi
}

# stop_all: SIGTERM every process we started that is still running, wait up
# to 5 s, SIGKILL what is left, then reap them all. Safe to call twice.
stop_all() {
  if ((stopping)); then return 0; fi
  stopping=1
  trap '' INT TERM # a second Ctrl-C must not interrupt the clean-up
  local running i t live=() live_names=() left=() left_names=()
  running=$(running_list)
  if [[ -n $monitor_sleep_pid && $running == *" $monitor_sleep_pid "* ]]; then
    kill -TERM "$monitor_sleep_pid" 2>/dev/null || true
  fi
  for i in "${!pids[@]}"; do
    if [[ $running == *" ${pids[i]} "* ]]; then
      live+=("${pids[i]}")
      live_names+=("${names[i]}")
    fi
  done
  if ((${#live[@]} > 0)); then
    say "stopping ${#live[@]} process(es): ${live_names[*]}"
    kill -TERM "${live[@]}" 2>/dev/null || true
    for ((t = 0; t < STOP_GRACE_TENTHS; t++)); do
      running=$(running_list)
      left=()
      left_names=()
      for i in "${!live[@]}"; do
        if [[ $running == *" ${live[i]} "* ]]; then
          left+=("${live[i]}")
          left_names+=("${live_names[i]}")
        fi
      done
      ((${#left[@]} == 0)) && break
      sleep 0.1
    done
    if ((${#left[@]} > 0)); then
      warn "still running after 5 s, sending SIGKILL: ${left_names[*]}"
      kill -KILL "${left[@]}" 2>/dev/null || true
    fi
  fi
  for i in "${!pids[@]}"; do wait "${pids[i]}" 2>/dev/null || true; done
  if [[ -n $monitor_sleep_pid ]]; then wait "$monitor_sleep_pid" 2>/dev/null || true; fi
  if ((${#pids[@]} > 0)); then say "all processes stopped"; fi
}

on_signal() {
  printf '\n'
  say "received SIG$1, shutting down"
  stop_all
  exit 0
}

trap 'on_signal INT' INT
trap 'on_signal TERM' TERM
trap 'stop_all' EXIT

# start NAME COMMAND...: start COMMAND in the background, logging to NAME.log.
start() {
  local name=$1 log=$LOG_DIR/$1.log
  shift
  "$@" </dev/null >"$log" 2>&1 &
  names+=("$name")
  pids+=("$!")
  logs+=("$log")
  gone+=(0)
  say "started $name (pid $!) -> $log"
}

# Check for processes that have exited. For each newly exited one: report it
# and return 1. Return 0 if all that were running are still running.
check_exits() {
  local running i rc found=0
  running=$(running_list)
  for i in "${!pids[@]}"; do
    ((gone[i])) && continue
    [[ $running == *" ${pids[i]} "* ]] && continue
    gone[i]=1
    found=1
    rc=0
    wait "${pids[i]}" 2>/dev/null || rc=$?
    warn "${names[i]} (pid ${pids[i]}) $(describe_status "$rc"); last lines of ${logs[i]}:"
    print_tail "${logs[i]}" >&2
  done
  return "$found"
}

fail_startup() {
  warn "start-up failed: $*"
  stop_all
  exit 1
}

# --------------------------------------------------------------- start-up ---

mkdir -p -- "$LOG_DIR" || die "cannot create $LOG_DIR"
if ((use_data_dir)); then
  mkdir -p -- "$DATA_DIR" || die "cannot create $DATA_DIR"
fi
check_ports # again: the install/build above may have taken a while

controller_addr=$HOST:$CONTROLLER_PORT
deadline=$((SECONDS + timeout))

say "starting: 1 controller, $storage storage node(s) (K=$redundancy, D=$digits, $zones zone(s)), $frontends frontend(s)"
controller_args=(node dist/apps/controller/main.js "$CONTROLLER_PORT" "$storage" "$redundancy"
  --partition-digits "$digits" --host "$HOST" --log-level "$log_level")
if ((use_data_dir)); then
  # The controller keeps membership, table and epoch here, so a restart resumes them.
  mkdir -p -- "$DATA_DIR/controller"
  controller_args+=(--data-dir "$DATA_DIR/controller")
fi
start controller "${controller_args[@]}"

until curl -fsS --max-time 1 -o /dev/null "http://$controller_addr/health" 2>/dev/null; do
  check_exits || fail_startup "the controller exited"
  ((SECONDS < deadline)) || {
    warn "last lines of ${logs[0]}:"
    print_tail "${logs[0]}" >&2
    fail_startup "the controller did not answer /health within $timeout s"
  }
  sleep 0.2
done

for ((i = 1; i <= storage; i++)); do
  port=$((STORAGE_BASE_PORT + i))
  zone=z$(((i - 1) % zones + 1))
  args=(node dist/apps/storage/main.js "$controller_addr" "$HOST:$port" --zone "$zone" --log-level "$log_level")
  if ((use_data_dir)); then
    mkdir -p -- "$DATA_DIR/storage-$i"
    args+=(--data-dir "$DATA_DIR/storage-$i")
  fi
  start "storage-$i" "${args[@]}"
done
for ((i = 1; i <= frontends; i++)); do
  port=$((FRONTEND_BASE_PORT + i))
  start "frontend-$i" node dist/apps/frontend/main.js "$controller_addr" "$HOST:$port" --log-level "$log_level"
done

# Exit 0 when the controller has formed a table and every frontend holds an
# epoch >= 1. Always print a one-line summary of what is missing.
# shellcheck disable=SC2016 # ${...} below is JavaScript, not shell
readonly READY_JS='
const [host, controllerPort, ...frontendPorts] = process.argv.slice(1);
const get = async (url) => {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
    return res.ok ? await res.json() : null;
  } catch {
    return null;
  }
};
(async () => {
  const waiting = [];
  const c = await get(`http://${host}:${controllerPort}/v1/cluster`);
  if (!c) waiting.push("controller is not answering /v1/cluster");
  else if (c.formed !== true) waiting.push(`controller has ${c.storageRegistered} of ${c.storageExpected} storage nodes`);
  const lagging = [];
  for (const port of frontendPorts) {
    const h = await get(`http://${host}:${port}/health`);
    if (!h || !(Number(h.epoch) >= 1)) lagging.push(port);
  }
  if (lagging.length > 0) waiting.push(`frontend(s) on ${lagging.join(", ")} have no table yet`);
  console.log(waiting.length > 0 ? `waiting: ${waiting.join("; ")}` : `epoch ${c.epoch}`);
  process.exit(waiting.length > 0 ? 1 : 0);
})();
'

frontend_ports=()
for ((i = 1; i <= frontends; i++)); do frontend_ports+=("$((FRONTEND_BASE_PORT + i))"); done

last_status=
while :; do
  if status=$(node -e "$READY_JS" "$HOST" "$CONTROLLER_PORT" "${frontend_ports[@]}"); then
    break
  fi
  check_exits || fail_startup "a process exited before the cluster was ready"
  if [[ $status != "$last_status" ]]; then
    say "$status"
    last_status=$status
  fi
  if ((SECONDS >= deadline)); then
    warn "last lines of ${logs[0]}:"
    print_tail "${logs[0]}" >&2
    fail_startup "not ready within $timeout s ($status); see the logs in $LOG_DIR/"
  fi
  sleep 0.3
done

# ------------------------------------------------------------------ ready ---

f1=http://$HOST:$((FRONTEND_BASE_PORT + 1))
f2=http://$HOST:$((FRONTEND_BASE_PORT + (frontends >= 2 ? 2 : 1)))
c=http://$controller_addr

printf '\n'
say "Velour Fog cluster is ready ($status): 1 controller, $storage storage node(s), $frontends frontend(s)"
printf '\n'
printf '  Controller status page  %s/\n' "$c"
printf '  Cluster (JSON)          %s/v1/cluster\n' "$c"
printf '  Partition table         %s/v1/table\n' "$c"
printf '  Controller metrics      %s/metrics\n' "$c"
printf '\n'
printf '  Frontends (GET /get/?key=K, GET /set/?key=K&value=V, POST /set/?key=K, GET|PUT|DELETE /v1/kv/KEY)\n'
for ((i = 1; i <= frontends; i++)); do
  u=http://$HOST:$((FRONTEND_BASE_PORT + i))
  printf '    %-12s API %s/   metrics %s/metrics\n' "frontend-$i" "$u" "$u"
done
printf '  Storage nodes\n'
for ((i = 1; i <= storage; i++)); do
  u=http://$HOST:$((STORAGE_BASE_PORT + i))
  printf '    %-12s zone %-4s metrics %s/metrics\n' "storage-$i" "z$(((i - 1) % zones + 1))" "$u"
done
printf '\n'
printf '  Logs                    %s/\n' "$LOG_DIR"
if ((use_data_dir)); then printf '  Data                    %s/\n' "$DATA_DIR"; fi
printf '\n'
printf '  Try:\n'
printf "    curl '%s/set/?key=hello&value=world'\n" "$f1"
printf "    curl '%s/get/?key=hello'\n" "$f2"
printf '\n'
say "running; press Ctrl-C to stop every process"

# ---------------------------------------------------------------- monitor ---

while :; do
  sleep 1 &
  monitor_sleep_pid=$!
  wait "$monitor_sleep_pid" 2>/dev/null || true # returns early on a signal; 2>/dev/null hides bash's own "Killed" notices
  monitor_sleep_pid=
  if ! check_exits; then
    alive=0
    for i in "${!gone[@]}"; do ((gone[i])) || alive=$((alive + 1)); done
    if ((alive == 0)); then
      warn "every process has exited; nothing left to run"
      exit 1
    fi
    warn "$alive process(es) still running; the cluster keeps going without the one(s) above"
  fi
done
