# Local Elasticsearch 9.x node, optional (services.sh up es9). Sourced after elasticsearch.sh, not run.
#
# Elastic's 9.x server jar and transport-netty4 from Maven Central, run by the 8.19 node's own launcher
# (test/services/elasticsearch9 compiles it, plus the two classes whose API changed in 9.x) through the
# same _esnode_* functions. Elasticsearch 9 needs Java 21+: this node alone builds and runs on
# SLUICE_ES9_JAVA_HOME, by default $JAVA_HOME when it is 21+, else the newest JDK under /usr/lib/jvm.
# Its native libraries (zstd, vec) are not on Maven Central: native access is off (one warning at
# start) and the best_compression codec fails.
#
# Functions: es9_build es9_start es9_stop es9_status es9_wipe
# Env: SLUICE_ES9_PORT (9202), SLUICE_ES9_TRANSPORT_PORT (9302), SLUICE_ES9_HEAP (512m), SLUICE_ES9_SETTINGS,
#   SLUICE_ES9_DATA_DIR ($SLUICE_SERVICES_DIR/elasticsearch9), SLUICE_ES9_START_TIMEOUT (120),
#   SLUICE_ES9_JAVA_OPTS: as the SLUICE_ES_* variables in elasticsearch.sh; SLUICE_ES9_JAVA_HOME.

: "${SLUICE_ES9_PORT:=9202}"
: "${SLUICE_ES9_TRANSPORT_PORT:=9302}"
: "${SLUICE_ES9_HEAP:=512m}"
: "${SLUICE_ES9_SETTINGS:=}"
: "${SLUICE_ES9_DATA_DIR:=$SLUICE_SERVICES_DIR/elasticsearch9}"
: "${SLUICE_ES9_START_TIMEOUT:=120}"
: "${SLUICE_ES9_JAVA_OPTS:=}"
: "${SLUICE_ES9_JAVA_HOME:=}"

_es9_node() {
  name=elasticsearch9 env=SLUICE_ES9 project="$SERVICES_ROOT/elasticsearch9"
  sources="$project/pom.xml $project/src $SERVICES_ROOT/elasticsearch/src/main"
  main_class=io.sluice.services.ElasticsearchMain
  java_min=21 java_home=${SLUICE_ES9_JAVA_HOME:-$(java_home_at_least 21)}
  # 9.x's SystemJvmOptions; on the class path every module is unnamed
  flags=(-Djava.locale.providers=CLDR --enable-native-access=ALL-UNNAMED)
}

es9_build() { _esnode build _es9_node; }
es9_start() { _esnode start _es9_node; }
es9_stop() { _esnode stop _es9_node; }
es9_status() { _esnode status _es9_node; }
es9_wipe() { _esnode wipe _es9_node; }
