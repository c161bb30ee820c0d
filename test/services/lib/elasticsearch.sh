# Local Elasticsearch nodes for the integration tests. Sourced after common.sh, not run.
#
# Genuine Elasticsearch nodes (Elastic's server jar + the Netty4 HTTP/transport module from Maven Central),
# each started as a plain JVM by a small launcher that runs the stock Node with class path plugins.
# No x-pack and no modules: no painless, ingest pipelines, data streams, ILM, analysis-common.
#
# This file holds the 8.19 node (es_*, launcher in test/services/elasticsearch) and what every search
# node shares: the _esnode_* functions. elasticsearch7.sh, elasticsearch9.sh and opensearch.sh describe
# the 7.17, 9.x and OpenSearch nodes and call the same functions; a node differs only by its
# description (see _esnode).
#
# Functions: es_build es_start es_stop es_status es_wipe
# Env (the 7.17 and 9.x nodes have the same variables, named SLUICE_ES7_* and SLUICE_ES9_*):
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

# _esnode ACTION DESCRIBE: runs _esnode_ACTION (build, start, stop, status or wipe) for one node.
# DESCRIBE is a function that sets, in _esnode's scope: name (pid and log file names, messages), env
# (prefix of the node's SLUICE_* variables), project (its Maven project), sources (what a rebuild
# depends on), main_class, java_home (empty: $JAVA_HOME, else java on the PATH), java_min (the
# Java feature version it needs when java_home must be set) and flags (the JVM flags of its
# version). It may also change what an OpenSearch node does: jar (the server jar a complete build has
# in target/lib: elasticsearch), props (the prefix of the server's system properties and, after
# sluice., of its launcher's port properties: es) and settings_env (the variable the launcher reads
# the node settings from: SLUICE_ES_SETTINGS).
_esnode() {
  local name env project sources main_class java_home java_min='' flags=()
  local jar=elasticsearch props=es settings_env=SLUICE_ES_SETTINGS
  "$2" || return 1
  local v port transport_port heap settings data_dir start_timeout java_opts
  v=${env}_PORT port=${!v}
  v=${env}_TRANSPORT_PORT transport_port=${!v}
  v=${env}_HEAP heap=${!v}
  v=${env}_SETTINGS settings=${!v}
  v=${env}_DATA_DIR data_dir=${!v}
  v=${env}_START_TIMEOUT start_timeout=${!v}
  v=${env}_JAVA_OPTS java_opts=${!v}
  local pidfile="$SLUICE_SERVICES_DIR/$name.pid" logfile="$SLUICE_SERVICES_DIR/logs/$name.log"
  local url="http://127.0.0.1:$port"
  "_esnode_$1"
}

_es_node() {
  name=elasticsearch env=SLUICE_ES project="$SERVICES_ROOT/elasticsearch" sources="$project/pom.xml $project/src"
  main_class=io.sluice.services.ElasticsearchMain java_home=
  flags=(-Djava.locale.providers=SPI,CLDR)
}

es_build() { _esnode build _es_node; }
es_start() { _esnode start _es_node; }
es_stop() { _esnode stop _es_node; }
es_status() { _esnode status _es_node; }
es_wipe() { _esnode wipe _es_node; }

_esnode_java() {
  if [ -n "$java_home" ]; then
    printf '%s' "$java_home/bin/java"
  elif [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then
    printf '%s' "$JAVA_HOME/bin/java"
  else
    printf 'java'
  fi
}

# _esnode_has_java: fails with a message when the node needs a JDK that was not found.
_esnode_has_java() {
  [ -z "$java_min" ] || [ -n "$java_home" ] || {
    log "$name needs Java $java_min or newer: none under /usr/lib/jvm; set ${env}_JAVA_HOME"
    return 1
  }
}

_esnode_healthy() {
  curl -sf -o /dev/null "$url/_cluster/health?wait_for_status=yellow&timeout=1s"
}

# _esnode_build: compile the launcher and copy the runtime jars to target/lib; a no-op when up to date.
# A build that a running node uses is kept, whichever services dir that node belongs to: deleting
# target/lib under a live JVM breaks its lazy class loading.
_esnode_build() {
  local stamp="$project/target/.sluice-build-stamp"
  local main_file="$project/target/classes/${main_class//.//}.class"
  # shellcheck disable=SC2086  # sources is a list of paths
  if [ -f "$stamp" ] && [ -f "$main_file" ] && compgen -G "$project/target/lib/$jar-[0-9]*.jar" >/dev/null &&
    [ -z "$(find $sources -newer "$stamp" -print -quit 2>/dev/null)" ]; then
    return 0
  fi
  if [ -f "$main_file" ] && pgrep -f -- "-cp $project/target/classes:" >/dev/null 2>&1; then
    log "$name: its launcher changed, but a running node uses the build; it is rebuilt once none does"
    return 0
  fi
  command -v mvn >/dev/null 2>&1 || { log "mvn not found; cannot build the $name launcher"; return 1; }
  _esnode_has_java || return 1
  log "building the $name launcher (mvn package; the first run downloads its jars into ~/.m2)"
  # old jars would linger in target/lib after a version change
  rm -rf "$project/target/lib" "$stamp"
  (
    [ -z "$java_home" ] || export JAVA_HOME="$java_home"
    mvn -q -B -f "$project/pom.xml" package
  ) || { log "$name launcher build failed"; return 1; }
  touch "$stamp"
}

# _esnode_start: start the node in the background and wait for yellow health; a no-op when already running.
_esnode_start() {
  if pid_alive "$pidfile"; then
    log "$name already running (pid $(cat "$pidfile")) at $url"
    return 0
  fi
  rm -f "$pidfile"
  _esnode_build || return 1
  if curl -s -o /dev/null --max-time 2 "$url/"; then
    log "something else already answers on $url; set ${env}_PORT to a free port"
    return 1
  fi

  _esnode_has_java || return 1
  mkdir -p "$data_dir/tmp" "$(dirname "$logfile")"
  local home java pid started=$SECONDS
  home=$(cd "$data_dir" && pwd)
  java=$(_esnode_java)
  log "starting $name on $url (heap $heap, home $home, log $logfile)"
  # Flags follow the server's own jvm.options / SystemJvmOptions; flags holds what differs by version.
  # The GC is left to the JVM (G1 on a 2+ CPU machine) so ${env}_JAVA_OPTS can pick another one. The
  # Elasticsearch launcher reads the node's settings as SLUICE_ES_SETTINGS whichever node it is
  # (NodeLauncher.java), the OpenSearch one as SLUICE_OPENSEARCH_SETTINGS.
  # shellcheck disable=SC2086  # java_opts is a list of flags
  env "$settings_env=$settings" setsid nohup "$java" \
    -Xms"$heap" -Xmx"$heap" -Xss1m \
    -XX:-OmitStackTraceInFastThrow -XX:+ExitOnOutOfMemoryError \
    -Djava.awt.headless=true -Dfile.encoding=UTF-8 -Djna.nosys=true \
    "${flags[@]}" \
    -Djava.io.tmpdir="$home/tmp" \
    -D"$props".networkaddress.cache.ttl=60 -D"$props".networkaddress.cache.negative.ttl=10 \
    -D"$props".distribution.type=tar \
    -Dio.netty.noUnsafe=true -Dio.netty.noKeySetOptimization=true -Dio.netty.recycler.maxCapacityPerThread=0 \
    -Dlog4j.shutdownHookEnabled=false -Dlog4j2.disable.jmx=true -Dlog4j2.formatMsgNoLookups=true \
    -Dsluice."$props".http.port="$port" -Dsluice."$props".transport.port="$transport_port" \
    $java_opts \
    -cp "$project/target/classes:$project/target/lib/*" \
    "$main_class" "$home" </dev/null >"$logfile" 2>&1 &
  pid=$!
  echo "$pid" >"$pidfile"

  local deadline=$((SECONDS + start_timeout))
  until _esnode_healthy; do
    if ! pid_alive "$pidfile"; then
      log "$name exited during startup"
      dump_log "$logfile" "$name"
      rm -f "$pidfile"
      return 1
    fi
    if [ $SECONDS -ge $deadline ]; then
      log "$name not yellow within ${start_timeout}s"
      dump_log "$logfile" "$name"
      stop_pid "$pidfile" "$name"
      return 1
    fi
    sleep 0.5
  done
  log "$name is up at $url (pid $pid, $((SECONDS - started))s)"
}

# _esnode_stop: SIGTERM (the launcher closes the node), SIGKILL after 30 s.
_esnode_stop() {
  stop_pid "$pidfile" "$name"
  # A launcher for this same home whose pidfile was lost (e.g. the services dir was cleaned while it ran).
  local home pid
  home=$(cd "$data_dir" 2>/dev/null && pwd) || return 0
  for pid in $(pgrep -f "$main_class $home\$" 2>/dev/null); do
    echo "$pid" >"$pidfile"
    stop_pid "$pidfile" "orphaned $name"
  done
}

# _esnode_status: prints running/stopped and the URL (always returns 0: services.sh runs under set -e).
_esnode_status() {
  if pid_alive "$pidfile"; then
    if _esnode_healthy; then
      echo "$name: running (pid $(cat "$pidfile")) $url"
    else
      echo "$name: running (pid $(cat "$pidfile")) but not healthy yet $url"
    fi
    return 0
  fi
  echo "$name: stopped $url"
}

# _esnode_wipe: delete the node's data, config and tmp (only while it is stopped).
_esnode_wipe() {
  if pid_alive "$pidfile"; then
    log "$name is running; stop it before wiping its data"
    return 1
  fi
  log "removing $data_dir"
  rm -rf "$data_dir"
}
