#!/usr/bin/env bash
# Local Apache Kafka (KRaft) and Elasticsearch, assembled from Maven Central jars and run as plain JVMs.
#
#   services.sh build [server]...               gather the jars and compile the launchers (a no-op when built)
#   services.sh up [kafka|elasticsearch]...     build when needed, start, wait until ready (idempotent)
#   services.sh down [kafka|elasticsearch]...   stop; leaves no Java process behind (idempotent)
#   services.sh restart kafka|elasticsearch     stop then start, keeping the data
#   services.sh status                          one line per server
#   services.sh wipe                            delete the servers' data (they must be stopped)
#
# Optional servers, started only when named (up opensearch): opensearch (OpenSearch 2.19, HTTP 9203),
# es7 (Elasticsearch 7.17, HTTP 9201), es9 (Elasticsearch 9.x, HTTP 9202).
# With no server named, up and restart mean kafka and elasticsearch; down and status mean every server,
# so a plain `down` leaves no Java process behind.
#
# Ports, heaps and folders come from SLUICE_* environment variables (see README.md).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/common.sh
. "$here/lib/common.sh"
# shellcheck source=lib/kafka.sh
. "$here/lib/kafka.sh"
# shellcheck source=lib/elasticsearch.sh
. "$here/lib/elasticsearch.sh"
# shellcheck source=lib/opensearch.sh
. "$here/lib/opensearch.sh"
# shellcheck source=lib/elasticsearch7.sh
. "$here/lib/elasticsearch7.sh"
# shellcheck source=lib/elasticsearch9.sh
. "$here/lib/elasticsearch9.sh"

cmd=${1:-status}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  case "$cmd" in
    down|status) targets=(kafka elasticsearch opensearch es7 es9) ;;
    *) targets=(kafka elasticsearch) ;;
  esac
fi
for t in "${targets[@]}"; do
  case "$t" in kafka|elasticsearch|opensearch|es7|es9) ;; *) log "unknown server '$t' (expected kafka, elasticsearch, opensearch, es7 or es9)"; exit 2 ;; esac
done
fn() { case "$1" in elasticsearch) echo "es_$2" ;; *) echo "$1_$2" ;; esac; }

# Runs one function per server concurrently and fails when any of them failed.
parallel() {
  local action=$1 pids=() rc=0 t
  for t in "${targets[@]}"; do
    "$(fn "$t" "$action")" & pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || rc=1; done
  return $rc
}

case "$cmd" in
  build)
    parallel build
    ;;
  up)
    parallel build
    parallel start
    ;;
  down)
    parallel stop
    ;;
  restart)
    for t in "${targets[@]}"; do "$(fn "$t" stop)"; "$(fn "$t" start)"; done
    ;;
  status)
    for t in "${targets[@]}"; do "$(fn "$t" status)"; done
    ;;
  wipe)
    for t in "${targets[@]}"; do "$(fn "$t" wipe)"; done
    ;;
  *)
    log "usage: services.sh build|up|down|restart|status|wipe [kafka|elasticsearch|opensearch|es7|es9]..."
    exit 2
    ;;
esac
