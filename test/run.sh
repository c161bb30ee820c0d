#!/usr/bin/env bash
# The one test command behind `make test`: unit suite, then the local servers, the integration and
# fault suites against them, and the servers stopped again whatever happened. Exit status is
# non-zero when any suite failed or a server did not start.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

services=test/services/services.sh
trap 'bash "$services" down' EXIT
trap 'exit 130' INT TERM

rc=0
node_modules/.bin/mocha --config test/.mocharc.unit.json || rc=1

if bash "$services" up; then
  for suite in integration fault; do
    cfg=test/.mocharc.$suite.json
    [ -f "$cfg" ] || continue
    node_modules/.bin/mocha --config "$cfg" || rc=1
  done
else
  echo "[test] the local servers did not start; integration suites not run" >&2
  rc=1
fi
exit $rc
