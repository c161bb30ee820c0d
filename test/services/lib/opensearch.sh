# Local OpenSearch 2.19 node for the compatibility tests. Sourced after common.sh, not run.
#
# A genuine OpenSearch node (the org.opensearch server jar and the modules published to Maven Central:
# transport-netty4, analysis-common, mapper-extras, reindex, lang-painless, ingest-common) started as a
# plain JVM by io.sluice.services.OpenSearchMain (test/services/opensearch). No security plugin, no ISM.
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

OS_PROJECT_DIR="$SERVICES_ROOT/opensearch"
OS_PIDFILE="$SLUICE_SERVICES_DIR/opensearch.pid"
OS_LOG="$SLUICE_SERVICES_DIR/logs/opensearch.log"
OS_MAIN_CLASS=io.sluice.services.OpenSearchMain

_os_url() { printf 'http://127.0.0.1:%s' "$SLUICE_OPENSEARCH_PORT"; }

_os_java() {
  if [ -n "$SLUICE_OPENSEARCH_JAVA_HOME" ] && [ -x "$SLUICE_OPENSEARCH_JAVA_HOME/bin/java" ]; then
    printf '%s' "$SLUICE_OPENSEARCH_JAVA_HOME/bin/java"
  else
    printf 'java'
  fi
}

_os_healthy() {
  curl -sf -o /dev/null "$(_os_url)/_cluster/health?wait_for_status=yellow&timeout=1s"
}

# opensearch_build: compile the launcher and copy the runtime jars to target/lib; a no-op when up to date.
opensearch_build() {
  local stamp="$OS_PROJECT_DIR/target/.sluice-build-stamp"
  local main_class="$OS_PROJECT_DIR/target/classes/${OS_MAIN_CLASS//.//}.class"
  if [ -f "$stamp" ] && [ -f "$main_class" ] && compgen -G "$OS_PROJECT_DIR/target/lib/opensearch-[0-9]*.jar" >/dev/null &&
    [ -z "$(find "$OS_PROJECT_DIR/pom.xml" "$OS_PROJECT_DIR/src" -newer "$stamp" -print -quit 2>/dev/null)" ]; then
    return 0
  fi
  command -v mvn >/dev/null 2>&1 || { log "mvn not found; cannot build the OpenSearch launcher"; return 1; }
  log "building the OpenSearch launcher (mvn package; the first run downloads ~55 MB into ~/.m2)"
  # old jars would linger in target/lib after a version change
  rm -rf "$OS_PROJECT_DIR/target/lib" "$stamp"
  mvn -q -B -f "$OS_PROJECT_DIR/pom.xml" package || { log "OpenSearch launcher build failed"; return 1; }
  touch "$stamp"
}

# opensearch_start: start the node in the background and wait for yellow health; a no-op when running.
opensearch_start() {
  if pid_alive "$OS_PIDFILE"; then
    log "opensearch already running (pid $(cat "$OS_PIDFILE")) at $(_os_url)"
    return 0
  fi
  rm -f "$OS_PIDFILE"
  opensearch_build || return 1
  if curl -s -o /dev/null --max-time 2 "$(_os_url)/"; then
    log "something else already answers on $(_os_url); set SLUICE_OPENSEARCH_PORT to a free port"
    return 1
  fi

  mkdir -p "$SLUICE_OPENSEARCH_DATA_DIR/tmp" "$(dirname "$OS_LOG")"
  local home java pid started=$SECONDS
  home=$(cd "$SLUICE_OPENSEARCH_DATA_DIR" && pwd)
  java=$(_os_java)
  log "starting opensearch on $(_os_url) (heap $SLUICE_OPENSEARCH_HEAP, home $home, log $OS_LOG)"
  # Flags follow OpenSearch's own jvm.options / SystemJvmOptions for JDK 17 (SPI,COMPAT keeps its date
  # parsing); -XX:+AlwaysPreTouch is left out so the node costs only the heap it touches.
  # shellcheck disable=SC2086  # SLUICE_OPENSEARCH_JAVA_OPTS is a list of flags
  SLUICE_OPENSEARCH_SETTINGS="$SLUICE_OPENSEARCH_SETTINGS" setsid nohup "$java" \
    -Xms"$SLUICE_OPENSEARCH_HEAP" -Xmx"$SLUICE_OPENSEARCH_HEAP" -Xss1m \
    -XX:-OmitStackTraceInFastThrow -XX:+ShowCodeDetailsInExceptionMessages -XX:+ExitOnOutOfMemoryError \
    -Djava.awt.headless=true -Dfile.encoding=UTF-8 -Djna.nosys=true \
    -Djava.locale.providers=SPI,COMPAT \
    -Djava.io.tmpdir="$home/tmp" \
    -Dopensearch.networkaddress.cache.ttl=60 -Dopensearch.networkaddress.cache.negative.ttl=10 \
    -Dopensearch.distribution.type=tar \
    -Dio.netty.noUnsafe=true -Dio.netty.noKeySetOptimization=true -Dio.netty.recycler.maxCapacityPerThread=0 \
    -Dio.netty.allocator.numDirectArenas=0 \
    -Dlog4j.shutdownHookEnabled=false -Dlog4j2.disable.jmx=true -Dlog4j2.formatMsgNoLookups=true \
    -Dsluice.opensearch.http.port="$SLUICE_OPENSEARCH_PORT" \
    -Dsluice.opensearch.transport.port="$SLUICE_OPENSEARCH_TRANSPORT_PORT" \
    $SLUICE_OPENSEARCH_JAVA_OPTS \
    -cp "$OS_PROJECT_DIR/target/classes:$OS_PROJECT_DIR/target/lib/*" \
    "$OS_MAIN_CLASS" "$home" </dev/null >"$OS_LOG" 2>&1 &
  pid=$!
  echo "$pid" >"$OS_PIDFILE"

  local deadline=$((SECONDS + SLUICE_OPENSEARCH_START_TIMEOUT))
  until _os_healthy; do
    if ! pid_alive "$OS_PIDFILE"; then
      log "opensearch exited during startup"
      dump_log "$OS_LOG" opensearch
      rm -f "$OS_PIDFILE"
      return 1
    fi
    if [ $SECONDS -ge $deadline ]; then
      log "opensearch not yellow within ${SLUICE_OPENSEARCH_START_TIMEOUT}s"
      dump_log "$OS_LOG" opensearch
      stop_pid "$OS_PIDFILE" opensearch
      return 1
    fi
    sleep 0.5
  done
  log "opensearch is up at $(_os_url) (pid $pid, $((SECONDS - started))s)"
}

# opensearch_stop: SIGTERM (the launcher closes the node), SIGKILL after 30 s.
opensearch_stop() {
  stop_pid "$OS_PIDFILE" opensearch
  # A launcher for this same home whose pidfile was lost (e.g. the services dir was cleaned while it ran).
  local home pid
  home=$(cd "$SLUICE_OPENSEARCH_DATA_DIR" 2>/dev/null && pwd) || return 0
  for pid in $(pgrep -f "$OS_MAIN_CLASS $home\$" 2>/dev/null); do
    echo "$pid" >"$OS_PIDFILE"
    stop_pid "$OS_PIDFILE" "orphaned opensearch"
  done
}

# opensearch_status: prints running/stopped and the URL (always returns 0: services.sh runs under set -e).
opensearch_status() {
  if pid_alive "$OS_PIDFILE"; then
    if _os_healthy; then
      echo "opensearch: running (pid $(cat "$OS_PIDFILE")) $(_os_url)"
    else
      echo "opensearch: running (pid $(cat "$OS_PIDFILE")) but not healthy yet $(_os_url)"
    fi
    return 0
  fi
  echo "opensearch: stopped $(_os_url)"
}

# opensearch_wipe: delete the node's data, config and tmp (only while it is stopped).
opensearch_wipe() {
  if pid_alive "$OS_PIDFILE"; then
    log "opensearch is running; run opensearch_stop before opensearch_wipe"
    return 1
  fi
  log "removing $SLUICE_OPENSEARCH_DATA_DIR"
  rm -rf "$SLUICE_OPENSEARCH_DATA_DIR"
}
