# Local Elasticsearch 7.17 node, optional (services.sh up es7). Sourced after elasticsearch.sh, not run.
#
# Elastic's 7.17 server jar and its Netty4 module (transport-netty4-client) from Maven Central, run by
# io.sluice.services.Elasticsearch7Main (test/services/elasticsearch7) through the same _esnode_*
# functions as the 8.19 node. GET / is part of the 7.17 server; the same modules are missing as on 8.19.
#
# Functions: es7_build es7_start es7_stop es7_status es7_wipe
# Env: SLUICE_ES7_PORT (9201), SLUICE_ES7_TRANSPORT_PORT (9301), SLUICE_ES7_HEAP (512m), SLUICE_ES7_SETTINGS,
#   SLUICE_ES7_DATA_DIR ($SLUICE_SERVICES_DIR/elasticsearch7), SLUICE_ES7_START_TIMEOUT (120),
#   SLUICE_ES7_JAVA_OPTS: as the SLUICE_ES_* variables in elasticsearch.sh.

: "${SLUICE_ES7_PORT:=9201}"
: "${SLUICE_ES7_TRANSPORT_PORT:=9301}"
: "${SLUICE_ES7_HEAP:=512m}"
: "${SLUICE_ES7_SETTINGS:=}"
: "${SLUICE_ES7_DATA_DIR:=$SLUICE_SERVICES_DIR/elasticsearch7}"
: "${SLUICE_ES7_START_TIMEOUT:=120}"
: "${SLUICE_ES7_JAVA_OPTS:=}"

_es7_node() {
  name=elasticsearch7 env=SLUICE_ES7 project="$SERVICES_ROOT/elasticsearch7"
  # NodeLauncher.java and log4j2.properties come from the 8.19 launcher's folder
  sources="$project/pom.xml $project/src $SERVICES_ROOT/elasticsearch/src/main"
  main_class=io.sluice.services.Elasticsearch7Main java_home=
  # 7.17's SystemJvmOptions on JDK 9+; the flavor is what a 7.17 download reports in GET /
  flags=(-Djava.locale.providers=SPI,COMPAT --add-opens=java.base/java.io=ALL-UNNAMED -Des.distribution.flavor=default)
}

es7_build() { _esnode build _es7_node; }
es7_start() { _esnode start _es7_node; }
es7_stop() { _esnode stop _es7_node; }
es7_status() { _esnode status _es7_node; }
es7_wipe() { _esnode wipe _es7_node; }
