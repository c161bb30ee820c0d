#!/usr/bin/env bash
# The one test command behind `make test`: unit suite, then the local servers, the integration and
# fault suites against them, the compatibility suite against each search server (Elasticsearch 8.19,
# 7.17, 9.x, OpenSearch 2.19), and the servers stopped again whatever happened. Exit status is
# non-zero when any suite failed or a server did not start.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

services=test/services/services.sh
trap 'kill ${optional_build:-} 2>/dev/null; bash "$services" down' EXIT
trap 'exit 130' INT TERM

rc=0
node_modules/.bin/mocha --config test/.mocharc.unit.json || rc=1

# The compatibility suite (test/compat/) against one search server next to Kafka; extra mocha flags after it.
compat() {
  SLUICE_COMPAT_TARGET=$1 node_modules/.bin/mocha --config test/.mocharc.compat.json "${@:2}" || rc=1
}

# The optional nodes' jars are gathered while the main suites run: a first build downloads for
# minutes. Waited for before those nodes start; a failed build fails again, with its log, at their `up`.
mkdir -p "${SLUICE_SERVICES_DIR:-.services}/logs"
bash "$services" build es7 es9 opensearch > "${SLUICE_SERVICES_DIR:-.services}/logs/optional-build.log" 2>&1 &
optional_build=$!

if bash "$services" up; then
  for suite in integration fault; do
    cfg=test/.mocharc.$suite.json
    [ -f "$cfg" ] || continue
    node_modules/.bin/mocha --config "$cfg" || rc=1
  done
  # Elasticsearch 8.19: only the check line. The integration and fault suites already prove the rest
  # on this node (exact ids, dead letters with document_parsing_exception, 429s from a one-slot write
  # queue, a read-only block, keyed updates), and the full suite here would cost about a minute of
  # the 30 that make test may take. Stopped after, so that one search node at a time runs next to Kafka.
  compat elasticsearch --grep 'sluice check'
  bash "$services" down elasticsearch
  # The optional nodes in turn, each started with a one-slot write queue for the 429 test.
  wait "$optional_build" || true
  tiny=thread_pool.write.size=1,thread_pool.write.queue_size=1
  for node in es7:SLUICE_ES7_SETTINGS es9:SLUICE_ES9_SETTINGS opensearch:SLUICE_OPENSEARCH_SETTINGS; do
    target=${node%%:*}
    if env "${node#*:}=$tiny" bash "$services" up "$target"; then
      compat "$target"
    else
      echo "[test] $target did not start; the compatibility suite did not run against it" >&2
      rc=1
    fi
    bash "$services" down "$target"
  done
else
  echo "[test] the local servers did not start; integration suites not run" >&2
  rc=1
fi
exit $rc
