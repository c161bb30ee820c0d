# Local Apache Kafka (KRaft, one combined broker+controller) run from Maven Central jars.
# Sourced after common.sh by test/services/services.sh; not run directly.
#
#   kafka_build   fetch the jars into test/services/kafka/target/lib (once) and compile the probe
#   kafka_start   format the storage (once) and start the broker; waits until it serves metadata
#   kafka_stop    stop the broker (SIGTERM, controlled shutdown; SIGKILL after 30 s)
#   kafka_status  print running/stopped and the bootstrap address
#   kafka_wipe    delete the data dir (broker must be stopped)
#
# The data (topics, committed offsets, cluster id) survives kafka_stop/kafka_start.

: "${SLUICE_KAFKA_PORT:=9092}"
: "${SLUICE_KAFKA_CONTROLLER_PORT:=9093}"
: "${SLUICE_KAFKA_HEAP:=512m}"
: "${SLUICE_KAFKA_DATA_DIR:=$SLUICE_SERVICES_DIR/kafka}"
: "${SLUICE_KAFKA_START_TIMEOUT:=90}"

KAFKA_SERVICE_DIR="$SERVICES_ROOT/kafka"
KAFKA_LIB_DIR="$KAFKA_SERVICE_DIR/target/lib"
KAFKA_PROBE_DIR="$KAFKA_SERVICE_DIR/target/probe"
KAFKA_PIDFILE="$SLUICE_SERVICES_DIR/kafka.pid"
KAFKA_LOG="$SLUICE_SERVICES_DIR/logs/kafka.log"
KAFKA_JVM_OPTS=(-XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true)

_kafka_bootstrap() { printf '127.0.0.1:%s' "$SLUICE_KAFKA_PORT"; }

_kafka_log_opt() { printf '%s' "-Dlog4j2.configurationFile=file:$KAFKA_SERVICE_DIR/log4j2.properties"; }

# _kafka_port_open PORT: true when something accepts TCP connections on 127.0.0.1:PORT.
_kafka_port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

kafka_build() {
  local pom="$KAFKA_SERVICE_DIR/pom.xml" stamp="$KAFKA_SERVICE_DIR/target/lib.stamp"
  local src="$KAFKA_SERVICE_DIR/KafkaReady.java" cls="$KAFKA_PROBE_DIR/KafkaReady.class"
  if [ ! -d "$KAFKA_LIB_DIR" ] || [ ! -f "$stamp" ] || [ "$pom" -nt "$stamp" ]; then
    log "kafka: fetching jars (mvn package; the first run downloads ~45 MB into ~/.m2)"
    # Start from an empty lib dir so a version change never leaves two Kafkas on the classpath.
    rm -rf "$KAFKA_LIB_DIR" "$stamp" "$KAFKA_PROBE_DIR"
    mkdir -p "$SLUICE_SERVICES_DIR/logs"
    # Output goes to a log (mvn 3.8 -q still prints stray colour escapes); shown on failure.
    if ! mvn -q -B -f "$pom" package >"$SLUICE_SERVICES_DIR/logs/kafka-build.log" 2>&1; then
      log "kafka: mvn package failed"
      dump_log "$SLUICE_SERVICES_DIR/logs/kafka-build.log" kafka-build
      return 1
    fi
    touch "$stamp"
  fi
  if [ ! -f "$cls" ] || [ "$src" -nt "$cls" ]; then
    mkdir -p "$KAFKA_PROBE_DIR"
    if ! javac -nowarn -d "$KAFKA_PROBE_DIR" -cp "$KAFKA_LIB_DIR/*" "$src"; then
      log "kafka: compiling the readiness probe failed"
      return 1
    fi
  fi
}

# _kafka_format: writes server.properties and formats the storage once (cluster id kept in
# $SLUICE_KAFKA_DATA_DIR/cluster.id). The properties are rewritten on every start so port
# changes apply; the log dir and cluster id stay.
_kafka_format() {
  local dir="$SLUICE_KAFKA_DATA_DIR" props tmpl cid
  props="$dir/server.properties"
  mkdir -p "$dir/data"
  tmpl=$(<"$KAFKA_SERVICE_DIR/server.properties.template") || return 1
  tmpl=${tmpl//@PORT@/$SLUICE_KAFKA_PORT}
  tmpl=${tmpl//@CONTROLLER_PORT@/$SLUICE_KAFKA_CONTROLLER_PORT}
  tmpl=${tmpl//@LOG_DIRS@/$dir/data}
  printf '%s\n' "$tmpl" >"$props"

  [ -f "$dir/data/meta.properties" ] && return 0
  if [ -s "$dir/cluster.id" ]; then
    cid=$(<"$dir/cluster.id")
  else
    # Same shape as Kafka's Uuid.randomUuid(): 16 random bytes, URL-safe base64, no padding,
    # not starting with '-'. Saves a JVM start for `StorageTool random-uuid`.
    cid=-
    while [ "${cid:0:1}" = - ]; do
      cid=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
    done
    printf '%s\n' "$cid" >"$dir/cluster.id"
  fi
  log "kafka: formatting storage in $dir/data (cluster id $cid)"
  if ! java -Xmx256m "$(_kafka_log_opt)" -Dsluice.kafka.log.level=warn -cp "$KAFKA_LIB_DIR/*" \
      kafka.tools.StorageTool format -t "$cid" -c "$props" --ignore-formatted >>"$KAFKA_LOG" 2>&1; then
    log "kafka: storage format failed"
    dump_log "$KAFKA_LOG" kafka
    return 1
  fi
}

kafka_start() {
  if pid_alive "$KAFKA_PIDFILE"; then
    log "kafka: already running (pid $(cat "$KAFKA_PIDFILE")) on $(_kafka_bootstrap)"
    return 0
  fi
  rm -f "$KAFKA_PIDFILE"
  kafka_build || return 1
  mkdir -p "$(dirname "$KAFKA_LOG")"
  local port
  for port in "$SLUICE_KAFKA_PORT" "$SLUICE_KAFKA_CONTROLLER_PORT"; do
    if _kafka_port_open "$port"; then
      log "kafka: port $port is already in use by another process (no pid in $KAFKA_PIDFILE)"
      return 1
    fi
  done
  printf '==== kafka_start %s ====\n' "$(date '+%F %T')" >>"$KAFKA_LOG"
  _kafka_format || return 1

  # Only log lines written after this offset belong to this start.
  local log_from started=$SECONDS probe_cp
  # The probe needs only the client jar; leaving log4j out saves ~1 s of JVM start.
  probe_cp="$KAFKA_PROBE_DIR:$(printf '%s:' "$KAFKA_LIB_DIR"/kafka-clients-*.jar "$KAFKA_LIB_DIR"/slf4j-api-*.jar)"
  log_from=$(($(stat -c %s "$KAFKA_LOG") + 1))
  log "kafka: starting on $(_kafka_bootstrap) (heap $SLUICE_KAFKA_HEAP, data $SLUICE_KAFKA_DATA_DIR)"
  # setsid: own session, so the broker outlives this shell and its job control. The inner
  # shell writes its own pid and execs java, so the pidfile names the JVM whether or not
  # setsid had to fork.
  setsid nohup bash -c 'echo $$ >"$0"; exec "$@"' "$KAFKA_PIDFILE" \
    java -Xmx"$SLUICE_KAFKA_HEAP" "${KAFKA_JVM_OPTS[@]}" "$(_kafka_log_opt)" \
    -cp "$KAFKA_LIB_DIR/*" kafka.Kafka "$SLUICE_KAFKA_DATA_DIR/server.properties" \
    </dev/null >>"$KAFKA_LOG" 2>&1 &

  local deadline=$((SECONDS + SLUICE_KAFKA_START_TIMEOUT)) phase=pid
  while :; do
    if [ "$phase" != pid ] && ! pid_alive "$KAFKA_PIDFILE"; then
      log "kafka: the broker exited during startup"
      dump_log "$KAFKA_LOG" kafka
      rm -f "$KAFKA_PIDFILE"
      return 1
    fi
    case $phase in
      pid)
        if [ -s "$KAFKA_PIDFILE" ]; then
          phase=log
        elif [ $((SECONDS - started)) -ge 10 ]; then
          log "kafka: the launcher never wrote $KAFKA_PIDFILE"
          dump_log "$KAFKA_LOG" kafka
          return 1
        fi
        ;;
      # (process substitution, not a pipe: under pipefail, grep -q quitting early would make
      # tail's SIGPIPE fail the test)
      log) grep -q 'Kafka Server started' <(tail -c +"$log_from" "$KAFKA_LOG") && phase=tcp ;;
      tcp) _kafka_port_open "$SLUICE_KAFKA_PORT" && phase=probe ;;
      probe)
        # (slf4j-api without a binding prints a 3-line NOP notice; drop it.)
        if java -Xmx64m -XX:TieredStopAtLevel=1 -cp "$probe_cp" \
            KafkaReady "$(_kafka_bootstrap)" 2000 2>&1 | grep -v '^SLF4J:' >>"$KAFKA_LOG"; \
            [ "${PIPESTATUS[0]}" = 0 ]; then
          log "kafka: ready on $(_kafka_bootstrap) (pid $(cat "$KAFKA_PIDFILE"), $((SECONDS - started)) s)"
          return 0
        fi
        ;;
    esac
    if [ $SECONDS -ge $deadline ]; then
      log "kafka: not ready after ${SLUICE_KAFKA_START_TIMEOUT}s (stuck at: $phase); stopping it"
      dump_log "$KAFKA_LOG" kafka
      stop_pid "$KAFKA_PIDFILE" kafka
      return 1
    fi
    [ "$phase" = probe ] || sleep 0.2
  done
}

kafka_stop() {
  stop_pid "$KAFKA_PIDFILE" kafka
}

kafka_status() {
  if pid_alive "$KAFKA_PIDFILE"; then
    echo "kafka: running (pid $(cat "$KAFKA_PIDFILE")) bootstrap $(_kafka_bootstrap) data $SLUICE_KAFKA_DATA_DIR"
  else
    echo "kafka: stopped (bootstrap would be $(_kafka_bootstrap)) data $SLUICE_KAFKA_DATA_DIR"
  fi
}

kafka_wipe() {
  if pid_alive "$KAFKA_PIDFILE"; then
    log "kafka: still running; run kafka_stop before kafka_wipe"
    return 1
  fi
  log "kafka: removing $SLUICE_KAFKA_DATA_DIR"
  rm -rf "$SLUICE_KAFKA_DATA_DIR"
}
