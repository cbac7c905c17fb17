#!/usr/bin/env bash
# runlocal.sh: run a local Velour Fog cluster in the foreground (./runlocal.sh --help).
#
# A thin wrapper: it installs the locked dependencies if they are missing, builds the launcher
# (tools/runlocal) if it is missing or older than its sources, and hands over to it with the
# same PID, so Ctrl-C and SIGTERM reach it directly. Everything else (flags, port checks,
# building the apps and fogctl, starting, waiting, stopping every process by PID) is in
# tools/runlocal, on the launcher the end-to-end tests use (libs/launcher).
set -euo pipefail

root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
main=$root/dist/tools/runlocal/main.js

command -v node >/dev/null 2>&1 || {
  printf 'runlocal: error: node is not on PATH (Node.js 20 or newer is needed)\n' >&2
  exit 1
}
node "$root/scripts/ensure-deps.cjs" || exit 1

if [[ ! -f $main ]] ||
  [[ -n $(find "$root/tools/runlocal/src" "$root/libs/launcher/src" -name '*.ts' ! -name '*.spec.ts' -newer "$main" -print -quit) ]]; then
  printf 'runlocal: building the launcher (tools/runlocal)\n'
  if ! out=$(cd -- "$root" && NX_DAEMON=false npx --no-install nx run runlocal:build --output-style=static 2>&1); then
    printf '%s\nrunlocal: error: could not build tools/runlocal\n' "$out" >&2
    exit 1
  fi
  touch -- "$main"
fi

exec node "$main" "$@"
