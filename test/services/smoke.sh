#!/usr/bin/env bash
# Smoke check of a running search node with curl and jq: what Sluice needs from the server.
#
#   bash test/services/smoke.sh URL PRODUCT VERSION      e.g. http://127.0.0.1:9201 elasticsearch 7.17.
#
# PRODUCT (elasticsearch or opensearch) and VERSION (a prefix of the version number) are what GET / must
# report; the error names that differ by product and version follow from them. Exits non-zero at the
# first failed check. When the node's write pool is tiny (started with thread_pool.write.size=1 and
# thread_pool.write.queue_size=1 in its SLUICE_*_SETTINGS) it also provokes 429s.
set -euo pipefail
url=${1:?usage: smoke.sh URL elasticsearch|opensearch VERSION_PREFIX}
product=${2:?usage: smoke.sh URL elasticsearch|opensearch VERSION_PREFIX}
prefix=${3:?usage: smoke.sh URL elasticsearch|opensearch VERSION_PREFIX}
command -v jq >/dev/null || { echo "smoke: needs jq" >&2; exit 2; }
index=sluice-smoke-$(date +%s)-$$
template=sluice-smoke-$$

ok() { printf 'ok   %s\n' "$*"; }
fail() { printf 'FAIL %s\n' "$*" >&2; exit 1; }
# call METHOD PATH [BODY]: sets $status, $body and $headers.
call() {
  local hfile
  hfile=$(mktemp)
  body=$(curl -s -D "$hfile" -w '\n%{http_code}' -X "$1" -H 'content-type: application/json' "$url$2" ${3:+--data-binary "$3"})
  status=${body##*$'\n'}
  body=${body%$'\n'*}
  headers=$(tr -d '\r' <"$hfile")
  rm -f "$hfile"
}
# expect WHAT JQ_FILTER: the filter over $body must print true.
expect() {
  [ "$(jq -r "$2" <<<"$body")" = true ] || fail "$1 (HTTP $status): $(head -c 600 <<<"$body")"
  ok "$1"
}
cleanup() {
  curl -s -o /dev/null -X DELETE "$url/$index" || true
  curl -s -o /dev/null -X DELETE "$url/_index_template/$template" || true
  curl -s -o /dev/null -X PUT -H 'content-type: application/json' "$url/_cluster/settings" \
    --data-binary '{"persistent":{"cluster.routing.allocation.node_concurrent_recoveries":null}}' || true
}
trap cleanup EXIT

call GET /
version=$(jq -r .version.number <<<"$body")
case "$product" in
  elasticsearch)
    expect "GET / answers Elasticsearch $prefix*" \
      "(.version.number | startswith(\"$prefix\")) and .tagline == \"You Know, for Search\" and .version.distribution == null"
    grep -qix 'x-elastic-product: Elasticsearch' <<<"$headers" || fail "GET / has no X-Elastic-Product: Elasticsearch header"
    ok "GET / sends X-Elastic-Product: Elasticsearch"
    # A document that does not fit the mapping: 7.x says mapper_parsing_exception, 8.x and later document_parsing_exception.
    parse_error=document_parsing_exception
    [ "${version%%.*}" -ge 8 ] || parse_error=mapper_parsing_exception
    rejected_error=es_rejected_execution_exception
    ;;
  opensearch)
    expect "GET / answers OpenSearch $prefix*" ".version.distribution == \"opensearch\" and (.version.number | startswith(\"$prefix\"))"
    parse_error=mapper_parsing_exception
    rejected_error=rejected_execution_exception
    ;;
  *) fail "unknown product $product (elasticsearch or opensearch)" ;;
esac

call GET '/_cluster/health?wait_for_status=yellow&timeout=10s'
expect "_cluster/health is green or yellow" '.status == "green" or .status == "yellow"'

call PUT "/_index_template/$template" "{\"index_patterns\":[\"$index\"],\"priority\":500,
  \"template\":{\"settings\":{\"number_of_shards\":1,\"number_of_replicas\":0},\"mappings\":{\"properties\":{\"n\":{\"type\":\"integer\"}}}}}"
expect "_index_template: composable template stored" '.acknowledged == true'
call GET "/_index_template/$template"
expect "_index_template: read back" ".index_templates[0].name == \"$template\""

call PUT "/$index" '{"settings":{"refresh_interval":"-1"},"mappings":{"properties":{"msg":{"type":"text"}}}}'
expect "index created with settings and mappings" '.acknowledged == true'
call GET "/$index"
expect "index has the template's and its own mappings and settings" \
  "(.\"$index\".mappings.properties.n.type == \"integer\") and (.\"$index\".mappings.properties.msg.type == \"text\") and (.\"$index\".settings.index.number_of_replicas == \"0\") and (.\"$index\".settings.index.refresh_interval == \"-1\")"

bulk=$(cat <<NDJSON
{"index":{"_index":"$index","_id":"a","version":5,"version_type":"external"}}
{"n":1,"msg":"quick brown fox"}
{"create":{"_index":"$index","_id":"b"}}
{"n":2,"msg":"lazy dog"}
{"create":{"_index":"$index","_id":"b"}}
{"n":3,"msg":"duplicate create"}
{"index":{"_index":"$index","_id":"c"}}
{"n":"not a number","msg":"bad"}
{"index":{"_index":"$index","_id":"a","version":4,"version_type":"external"}}
{"n":0,"msg":"stale write"}
{"delete":{"_index":"$index","_id":"a","version":6,"version_type":"external"}}
{"index":{"_index":"$index","_id":"d","version":7,"version_type":"external"}}
{"n":4,"msg":"another fox"}
NDJSON
)
call POST /_bulk "$bulk"$'\n'
expect "_bulk: per-item statuses (index 201, create 201, create 409, bad 400, stale external 409, delete 200, index 201)" \
  '.errors == true and ([.items[] | to_entries[0].value.status] == [201,201,409,400,409,200,201])'
expect "_bulk: error types (version_conflict_engine_exception, $parse_error)" \
  "[.items[] | to_entries[0].value.error.type // empty] == [\"version_conflict_engine_exception\",\"$parse_error\",\"version_conflict_engine_exception\"]"
expect "_bulk: external version kept on the delete" '.items[5].delete.result == "deleted" and .items[5].delete._version == 6'

call POST "/$index/_refresh"
expect "_refresh" '._shards.failed == 0'
call GET "/$index/_count"
expect "_count is exactly 2 (b, d)" '.count == 2'
call POST "/$index/_search" '{"query":{"match":{"msg":"fox"}},"sort":[{"n":"asc"}]}'
expect "_search finds only d" '[.hits.hits[]._id] == ["d"] and .hits.total.value == 1'

call PUT /_cluster/settings '{"persistent":{"cluster.routing.allocation.node_concurrent_recoveries":3}}'
expect "_cluster/settings: update" '.acknowledged == true'
call GET /_cluster/settings
expect "_cluster/settings: read back" '.persistent.cluster.routing.allocation.node_concurrent_recoveries == "3"'

call PUT "/$index/_settings" '{"index.blocks.write":true}'
expect "index.blocks.write set" '.acknowledged == true'
call POST /_bulk "{\"index\":{\"_index\":\"$index\",\"_id\":\"e\"}}"$'\n{"n":5}\n'
expect "index.blocks.write: item refused 403 cluster_block_exception" \
  '.items[0].index.status == 403 and .items[0].index.error.type == "cluster_block_exception"'
call PUT "/$index/_settings" '{"index.blocks.write":null,"index.blocks.read_only_allow_delete":true}'
expect "index.blocks.read_only_allow_delete set" '.acknowledged == true'
call POST /_bulk "{\"index\":{\"_index\":\"$index\",\"_id\":\"e\"}}"$'\n{"n":5}\n'
expect "read_only_allow_delete: item refused 429 cluster_block_exception" \
  '.items[0].index.status == 429 and .items[0].index.error.type == "cluster_block_exception"'
call PUT "/$index/_settings" '{"index.blocks.read_only_allow_delete":null}'
call POST /_bulk "{\"index\":{\"_index\":\"$index\",\"_id\":\"e\"}}"$'\n{"n":5}\n'
expect "blocks lifted: write accepted" '.errors == false and .items[0].index.status == 201'

call GET /_nodes/_local/thread_pool
queue=$(jq -r '.nodes[].thread_pool.write.queue_size' <<<"$body")
ok "thread_pool.write.queue_size is $queue"
if [ "$queue" -le 2 ]; then
  # Many concurrent bulks against a one-thread, one-slot write pool: some are rejected with 429.
  tmp=$(mktemp -d)
  for i in $(seq 1 3000); do printf '{"index":{"_index":"%s"}}\n{"n":%d,"msg":"burst"}\n' "$index" "$i"; done >"$tmp/docs"
  for i in $(seq 1 24); do
    curl -s -o "$tmp/$i.json" -w '%{http_code}\n' -H 'content-type: application/json' -X POST "$url/_bulk" --data-binary "@$tmp/docs" >"$tmp/$i.code" &
  done
  wait
  rejected=$(cat "$tmp"/*.code | grep -c '^429$' || true)
  items=$(cat "$tmp"/*.json | jq -s --arg e "$rejected_error" '[.[] | .items? // [] | .[] | select(.index.status == 429 and .index.error.type == $e)] | length')
  rm -rf "$tmp"
  [ $((rejected + items)) -gt 0 ] || fail "no 429 from a write queue of $queue"
  ok "write queue $queue: $rejected bulk requests and $items items rejected with 429"
fi
echo "smoke: $product $version at $url passed"
