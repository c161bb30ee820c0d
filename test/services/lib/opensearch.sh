# Local OpenSearch 2.19 node for the compatibility tests. Sourced after elasticsearch.sh, not run.
#
# A genuine OpenSearch node (the org.opensearch server jar and the modules published to Maven Central:
# transport-netty4, analysis-common, mapper-extras, reindex, lang-painless, ingest-common) started as a
# plain JVM by io.sluice.services.OpenSearchMain (test/services/opensearch) through the _esnode_*
# functions of elasticsearch.sh, as the Elasticsearch nodes are. No security plugin, no ISM.
#
# Functions: opensearch_build opensearch_start opensearch_stop opensearch_status opensearch_wipe
# Env:
#   SLUICE_OPENSEARCH_PORT            HTTP port (9203), always bound to 127.0.0.1
#   SLUICE_OPENSEARCH_TRANSPORT_PORT  transport port (9303)
#   SLUICE_OPENSEARCH_HEAP            -Xms/-Xmx (512m)
#   SLUICE_OPENSEARCH_SETTINGS        extra node settings, "k=v,k=v" (e.g. thread_pool.write.queue_size=2,thread_pool.write.size=1)
#   SLUICE_OPENSEARCH_DATA_DIR        node home: data, config, tmp ($SLUICE_SERVICES_DIR/opensearch)
#   SLUICE_OPENSEARCH_START_TIMEOUT   seconds to wait for yellow health (120)
#   SLUICE_OPENSEARCH_JAVA_OPTS       extra JVM flags (empty)
#   SLUICE_OPENSEARCH_JAVA_HOME       JDK for this node only (JAVA_HOME, else java on PATH; 2.19 runs on 11+)

: "${SLUICE_OPENSEARCH_PORT:=9203}"
: "${SLUICE_OPENSEARCH_TRANSPORT_PORT:=9303}"
: "${SLUICE_OPENSEARCH_HEAP:=512m}"
: "${SLUICE_OPENSEARCH_SETTINGS:=}"
: "${SLUICE_OPENSEARCH_DATA_DIR:=$SLUICE_SERVICES_DIR/opensearch}"
: "${SLUICE_OPENSEARCH_START_TIMEOUT:=120}"
: "${SLUICE_OPENSEARCH_JAVA_OPTS:=}"
: "${SLUICE_OPENSEARCH_JAVA_HOME:=${JAVA_HOME:-}}"

_os_node() {
  name=opensearch env=SLUICE_OPENSEARCH project="$SERVICES_ROOT/opensearch" sources="$project/pom.xml $project/src"
  main_class=io.sluice.services.OpenSearchMain
  # its own JDK when that has a java, else as the Elasticsearch nodes
  if [ -x "$SLUICE_OPENSEARCH_JAVA_HOME/bin/java" ]; then java_home=$SLUICE_OPENSEARCH_JAVA_HOME; else java_home=; fi
  # OpenSearch's jvm.options / SystemJvmOptions for JDK 17 (SPI,COMPAT keeps its date parsing);
  # -XX:+AlwaysPreTouch is left out so the node costs only the heap it touches.
  flags=(-XX:+ShowCodeDetailsInExceptionMessages -Djava.locale.providers=SPI,COMPAT -Dio.netty.allocator.numDirectArenas=0)
  # OpenSearchMain reads sluice.opensearch.http.port and SLUICE_OPENSEARCH_SETTINGS
  jar=opensearch props=opensearch settings_env=SLUICE_OPENSEARCH_SETTINGS
}

opensearch_build() { _esnode build _os_node; }
opensearch_start() { _esnode start _os_node; }
opensearch_stop() { _esnode stop _os_node; }
opensearch_status() { _esnode status _os_node; }
opensearch_wipe() { _esnode wipe _os_node; }
