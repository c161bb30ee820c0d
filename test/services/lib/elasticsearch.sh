# Local Elasticsearch 8.19 node for the integration tests. Sourced after common.sh, not run.
#
# A genuine Elasticsearch node (Elastic's server jar + the transport-netty4 plugin from Maven Central)
# started as a plain JVM by io.sluice.services.ElasticsearchMain (test/services/elasticsearch).
# No x-pack and no modules: no painless, ingest pipelines, data streams, ILM, analysis-common.
#
# Functions: es_build es_start es_stop es_status es_wipe
# Env:
#   SLUICE_ES_PORT            HTTP port (9200), always bound to 127.0.0.1
#   SLUICE_ES_TRANSPORT_PORT  transport port (9300)
#   SLUICE_ES_HEAP            -Xms/-Xmx (512m)
#   SLUICE_ES_SETTINGS        extra node settings, "k=v,k=v" (e.g. thread_pool.write.queue_size=2,thread_pool.write.size=1)
#   SLUICE_ES_DATA_DIR        node home: data, config, tmp ($SLUICE_SERVICES_DIR/elasticsearch)
#   SLUICE_ES_START_TIMEOUT   seconds to wait for yellow health (120)
#   SLUICE_ES_JAVA_OPTS       extra JVM flags (empty)

: "${SLUICE_ES_PORT:=9200}"
: "${SLUICE_ES_TRANSPORT_PORT:=9300}"
: "${SLUICE_ES_HEAP:=512m}"
: "${SLUICE_ES_SETTINGS:=}"
: "${SLUICE_ES_DATA_DIR:=$SLUICE_SERVICES_DIR/elasticsearch}"
: "${SLUICE_ES_START_TIMEOUT:=120}"
: "${SLUICE_ES_JAVA_OPTS:=}"

ES_PROJECT_DIR="$SERVICES_ROOT/elasticsearch"
ES_PIDFILE="$SLUICE_SERVICES_DIR/elasticsearch.pid"
ES_LOG="$SLUICE_SERVICES_DIR/logs/elasticsearch.log"
ES_MAIN_CLASS=io.sluice.services.ElasticsearchMain

_es_url() { printf 'http://127.0.0.1:%s' "$SLUICE_ES_PORT"; }

_es_java() {
  if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then
    printf '%s' "$JAVA_HOME/bin/java"
  else
    printf 'java'
  fi
}

_es_healthy() {
  curl -sf -o /dev/null "$(_es_url)/_cluster/health?wait_for_status=yellow&timeout=1s"
}

# es_build: compile the launcher and copy the runtime jars to target/lib; a no-op when up to date.
es_build() {
  local stamp="$ES_PROJECT_DIR/target/.sluice-build-stamp"
  local main_class="$ES_PROJECT_DIR/target/classes/${ES_MAIN_CLASS//.//}.class"
  if [ -f "$stamp" ] && [ -f "$main_class" ] && compgen -G "$ES_PROJECT_DIR/target/lib/elasticsearch-[0-9]*.jar" >/dev/null &&
    [ -z "$(find "$ES_PROJECT_DIR/pom.xml" "$ES_PROJECT_DIR/src" -newer "$stamp" -print -quit 2>/dev/null)" ]; then
    return 0
  fi
  command -v mvn >/dev/null 2>&1 || { log "mvn not found; cannot build the Elasticsearch launcher"; return 1; }
  log "building the Elasticsearch launcher (mvn package; the first run downloads ~70 MB into ~/.m2)"
  # old jars would linger in target/lib after a version change
  rm -rf "$ES_PROJECT_DIR/target/lib" "$stamp"
  mvn -q -B -f "$ES_PROJECT_DIR/pom.xml" package || { log "Elasticsearch launcher build failed"; return 1; }
  touch "$stamp"
}

# es_start: start the node in the background and wait for yellow health; a no-op when already running.
es_start() {
  if pid_alive "$ES_PIDFILE"; then
    log "elasticsearch already running (pid $(cat "$ES_PIDFILE")) at $(_es_url)"
    return 0
  fi
  rm -f "$ES_PIDFILE"
  es_build || return 1
  if curl -s -o /dev/null --max-time 2 "$(_es_url)/"; then
    log "something else already answers on $(_es_url); set SLUICE_ES_PORT to a free port"
    return 1
  fi

  mkdir -p "$SLUICE_ES_DATA_DIR/tmp" "$(dirname "$ES_LOG")"
  local home java pid started=$SECONDS
  home=$(cd "$SLUICE_ES_DATA_DIR" && pwd)
  java=$(_es_java)
  log "starting elasticsearch on $(_es_url) (heap $SLUICE_ES_HEAP, home $home, log $ES_LOG)"
  # Flags follow Elasticsearch's own jvm.options / SystemJvmOptions for JDK 17. The GC is left to the JVM
  # (G1 on a 2+ CPU machine) so SLUICE_ES_JAVA_OPTS can pick another one.
  # shellcheck disable=SC2086  # SLUICE_ES_JAVA_OPTS is a list of flags
  SLUICE_ES_SETTINGS="$SLUICE_ES_SETTINGS" setsid nohup "$java" \
    -Xms"$SLUICE_ES_HEAP" -Xmx"$SLUICE_ES_HEAP" -Xss1m \
    -XX:-OmitStackTraceInFastThrow -XX:+ExitOnOutOfMemoryError \
    -Djava.awt.headless=true -Dfile.encoding=UTF-8 -Djna.nosys=true \
    -Djava.locale.providers=SPI,CLDR \
    -Djava.io.tmpdir="$home/tmp" \
    -Des.networkaddress.cache.ttl=60 -Des.networkaddress.cache.negative.ttl=10 \
    -Des.distribution.type=tar \
    -Dio.netty.noUnsafe=true -Dio.netty.noKeySetOptimization=true -Dio.netty.recycler.maxCapacityPerThread=0 \
    -Dlog4j.shutdownHookEnabled=false -Dlog4j2.disable.jmx=true -Dlog4j2.formatMsgNoLookups=true \
    -Dsluice.es.http.port="$SLUICE_ES_PORT" -Dsluice.es.transport.port="$SLUICE_ES_TRANSPORT_PORT" \
    $SLUICE_ES_JAVA_OPTS \
    -cp "$ES_PROJECT_DIR/target/classes:$ES_PROJECT_DIR/target/lib/*" \
    "$ES_MAIN_CLASS" "$home" </dev/null >"$ES_LOG" 2>&1 &
  pid=$!
  echo "$pid" >"$ES_PIDFILE"

  local deadline=$((SECONDS + SLUICE_ES_START_TIMEOUT))
  until _es_healthy; do
    if ! pid_alive "$ES_PIDFILE"; then
      log "elasticsearch exited during startup"
      dump_log "$ES_LOG" elasticsearch
      rm -f "$ES_PIDFILE"
      return 1
    fi
    if [ $SECONDS -ge $deadline ]; then
      log "elasticsearch not yellow within ${SLUICE_ES_START_TIMEOUT}s"
      dump_log "$ES_LOG" elasticsearch
      stop_pid "$ES_PIDFILE" elasticsearch
      return 1
    fi
    sleep 0.5
  done
  log "elasticsearch is up at $(_es_url) (pid $pid, $((SECONDS - started))s)"
}

# es_stop: SIGTERM (the launcher closes the node), SIGKILL after 30 s.
es_stop() {
  stop_pid "$ES_PIDFILE" elasticsearch
  # A launcher for this same home whose pidfile was lost (e.g. the services dir was cleaned while it ran).
  local home pid
  home=$(cd "$SLUICE_ES_DATA_DIR" 2>/dev/null && pwd) || return 0
  for pid in $(pgrep -f "$ES_MAIN_CLASS $home\$" 2>/dev/null); do
    echo "$pid" >"$ES_PIDFILE"
    stop_pid "$ES_PIDFILE" "orphaned elasticsearch"
  done
}

# es_status: prints running/stopped and the URL (always returns 0: services.sh runs under set -e).
es_status() {
  if pid_alive "$ES_PIDFILE"; then
    if _es_healthy; then
      echo "elasticsearch: running (pid $(cat "$ES_PIDFILE")) $(_es_url)"
    else
      echo "elasticsearch: running (pid $(cat "$ES_PIDFILE")) but not healthy yet $(_es_url)"
    fi
    return 0
  fi
  echo "elasticsearch: stopped $(_es_url)"
}

# es_wipe: delete the node's data, config and tmp (only while it is stopped).
es_wipe() {
  if pid_alive "$ES_PIDFILE"; then
    log "elasticsearch is running; run es_stop before es_wipe"
    return 1
  fi
  log "removing $SLUICE_ES_DATA_DIR"
  rm -rf "$SLUICE_ES_DATA_DIR"
}
