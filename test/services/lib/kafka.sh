# Local Apache Kafka (KRaft, one combined broker+controller) run from Maven Central jars.
# Sourced after common.sh by test/services/services.sh; not run directly.
#
#   kafka_build   fetch the jars into test/services/kafka/target/lib (once) and compile the tools
#   kafka_start   format the storage and make the TLS files (once) and start the broker; waits
#                 until it serves metadata and the test user can log in with SCRAM
#   kafka_stop    stop the broker (SIGTERM, controlled shutdown; SIGKILL after 30 s)
#   kafka_status  print running/stopped and the listener addresses
#   kafka_wipe    delete the data dir (broker must be stopped)
#
# Listeners, all on 127.0.0.1:
#   SLUICE_KAFKA_PORT        PLAINTEXT       what most tests use
#   SLUICE_KAFKA_SASL_PORT   SASL_PLAINTEXT  PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER (unsecured JWT)
#   SLUICE_KAFKA_SSL_PORT    SSL             server certificate only; CA in $SLUICE_KAFKA_DATA_DIR/tls/ca.pem
# SASL knows one user, $KAFKA_TEST_USER with password $KAFKA_TEST_PASSWORD (test/support/env.ts
# has the same values). No authorizer: an authenticated client may do everything.
#
# The data (topics, committed offsets, cluster id, SCRAM credentials, TLS files) survives
# kafka_stop/kafka_start.

: "${SLUICE_KAFKA_PORT:=9092}"
: "${SLUICE_KAFKA_CONTROLLER_PORT:=9093}"
: "${SLUICE_KAFKA_SASL_PORT:=9094}"
: "${SLUICE_KAFKA_SSL_PORT:=9095}"
: "${SLUICE_KAFKA_HEAP:=512m}"
: "${SLUICE_KAFKA_DATA_DIR:=$SLUICE_SERVICES_DIR/kafka}"
: "${SLUICE_KAFKA_START_TIMEOUT:=90}"

KAFKA_SERVICE_DIR="$SERVICES_ROOT/kafka"
KAFKA_LIB_DIR="$KAFKA_SERVICE_DIR/target/lib"
KAFKA_PROBE_DIR="$KAFKA_SERVICE_DIR/target/probe"
KAFKA_PIDFILE="$SLUICE_SERVICES_DIR/kafka.pid"
KAFKA_LOG="$SLUICE_SERVICES_DIR/logs/kafka.log"
KAFKA_TLS_DIR="$SLUICE_KAFKA_DATA_DIR/tls"
KAFKA_TEST_USER=sluice
KAFKA_TEST_PASSWORD=sluice-test-secret
KAFKA_JVM_OPTS=(-XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true)

_kafka_bootstrap() { printf '127.0.0.1:%s' "$SLUICE_KAFKA_PORT"; }
_kafka_listeners() {
  printf 'plaintext 127.0.0.1:%s sasl 127.0.0.1:%s ssl 127.0.0.1:%s' \
    "$SLUICE_KAFKA_PORT" "$SLUICE_KAFKA_SASL_PORT" "$SLUICE_KAFKA_SSL_PORT"
}

_kafka_log_opt() { printf '%s' "-Dlog4j2.configurationFile=file:$KAFKA_SERVICE_DIR/log4j2.properties"; }

# _kafka_port_open PORT: true when something accepts TCP connections on 127.0.0.1:PORT.
_kafka_port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

kafka_build() {
  local pom="$KAFKA_SERVICE_DIR/pom.xml" stamp="$KAFKA_SERVICE_DIR/target/lib.stamp"
  local tools=(KafkaReady KafkaScramUsers) t srcs=() stale=0
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
  for t in "${tools[@]}"; do
    srcs+=("$KAFKA_SERVICE_DIR/$t.java")
    if [ ! -f "$KAFKA_PROBE_DIR/$t.class" ] || [ "$KAFKA_SERVICE_DIR/$t.java" -nt "$KAFKA_PROBE_DIR/$t.class" ]; then
      stale=1
    fi
  done
  if [ $stale = 1 ]; then
    mkdir -p "$KAFKA_PROBE_DIR"
    if ! javac -nowarn -d "$KAFKA_PROBE_DIR" -cp "$KAFKA_LIB_DIR/*" "${srcs[@]}"; then
      log "kafka: compiling the readiness probe and the SCRAM tool failed"
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
  tmpl=${tmpl//@SASL_PORT@/$SLUICE_KAFKA_SASL_PORT}
  tmpl=${tmpl//@SSL_PORT@/$SLUICE_KAFKA_SSL_PORT}
  tmpl=${tmpl//@TLS_DIR@/$KAFKA_TLS_DIR}
  tmpl=${tmpl//@TEST_USER@/$KAFKA_TEST_USER}
  tmpl=${tmpl//@TEST_PASSWORD@/$KAFKA_TEST_PASSWORD}
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

# _kafka_tls: makes, once, a test CA and the broker's certificate for the SSL listener:
#   $KAFKA_TLS_DIR/ca.pem       CA certificate, for clients (ssl.ca.location)
#   $KAFKA_TLS_DIR/ca.key       CA key, kept so more certificates can be signed later
#   $KAFKA_TLS_DIR/broker.pem   broker key (unencrypted PKCS#8) and certificate: Kafka's PEM keystore
# P-256 keys: generated in milliseconds, unlike RSA. The SAN holds both names a client may dial;
# librdkafka checks it (ssl.endpoint.identification.algorithm=https is its default). Built in a
# temporary dir and moved into place, so an interrupted run never leaves half a set behind.
_kafka_tls() {
  local dir=$KAFKA_TLS_DIR tmp
  [ -s "$dir/ca.pem" ] && [ -s "$dir/broker.pem" ] && return 0
  log "kafka: generating a test CA and broker certificate in $dir"
  mkdir -p "$(dirname "$dir")"
  tmp=$(mktemp -d "$dir.XXXXXX") || return 1
  # (an && chain: set -e does not apply inside a subshell whose status `if` tests)
  if ! (
    cd "$tmp" && umask 077 &&
    openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -keyout ca.key -out ca.pem -days 3650 -subj '/CN=Sluice test CA' \
      -addext 'basicConstraints=critical,CA:TRUE' -addext 'keyUsage=critical,keyCertSign,cRLSign' &&
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -keyout broker.key -out broker.csr -subj '/CN=localhost' &&
    printf '%s\n' 'subjectAltName=DNS:localhost,IP:127.0.0.1' 'basicConstraints=critical,CA:FALSE' \
      'keyUsage=critical,digitalSignature' 'extendedKeyUsage=serverAuth' >broker.ext &&
    openssl x509 -req -in broker.csr -CA ca.pem -CAkey ca.key -days 3650 \
      -set_serial "0x$(openssl rand -hex 16)" -extfile broker.ext -out broker.crt &&
    cat broker.key broker.crt >broker.pem &&
    rm broker.key broker.csr broker.ext broker.crt
  ) >"$tmp.log" 2>&1; then
    log "kafka: generating the TLS files failed"
    dump_log "$tmp.log" openssl
    rm -rf "$tmp" "$tmp.log"
    return 1
  fi
  rm -rf "$dir" "$tmp.log"
  mv "$tmp" "$dir"
}

kafka_start() {
  if pid_alive "$KAFKA_PIDFILE"; then
    log "kafka: already running (pid $(cat "$KAFKA_PIDFILE")), $(_kafka_listeners)"
    return 0
  fi
  rm -f "$KAFKA_PIDFILE"
  kafka_build || return 1
  mkdir -p "$(dirname "$KAFKA_LOG")"
  local port
  for port in "$SLUICE_KAFKA_PORT" "$SLUICE_KAFKA_CONTROLLER_PORT" "$SLUICE_KAFKA_SASL_PORT" "$SLUICE_KAFKA_SSL_PORT"; do
    if _kafka_port_open "$port"; then
      log "kafka: port $port is already in use by another process (no pid in $KAFKA_PIDFILE)"
      return 1
    fi
  done
  printf '==== kafka_start %s ====\n' "$(date '+%F %T')" >>"$KAFKA_LOG"
  _kafka_format || return 1
  _kafka_tls || return 1

  # Only log lines written after this offset belong to this start.
  local log_from started=$SECONDS probe_cp probe_rc
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
      tcp)
        _kafka_port_open "$SLUICE_KAFKA_PORT" && _kafka_port_open "$SLUICE_KAFKA_SASL_PORT" &&
          _kafka_port_open "$SLUICE_KAFKA_SSL_PORT" && phase=probe
        ;;
      # Given the SASL address and the test user, the probe then checks that this user can log in
      # with SCRAM and upserts the credentials when not (KafkaScramUsers.java), on every start: a
      # data dir formatted before the SASL listener existed has none. Exit 2: that step failed, a
      # configuration error that waiting would not fix.
      probe)
        # (slf4j-api without a binding prints a 3-line NOP notice; drop it. The `||` keeps a
        # non-zero probe from tripping errexit and takes the probe's own status, not grep's.)
        probe_rc=0
        java -Xmx64m -XX:TieredStopAtLevel=1 -cp "$probe_cp" KafkaReady "$(_kafka_bootstrap)" 2000 \
          "127.0.0.1:$SLUICE_KAFKA_SASL_PORT" "$KAFKA_TEST_USER" "$KAFKA_TEST_PASSWORD" 2>&1 |
          grep -v '^SLF4J:' >>"$KAFKA_LOG" || probe_rc=${PIPESTATUS[0]}
        case $probe_rc in
          0)
            log "kafka: ready, $(_kafka_listeners) (pid $(cat "$KAFKA_PIDFILE"), $((SECONDS - started)) s)"
            return 0
            ;;
          2)
            log "kafka: could not set up the SCRAM credentials of $KAFKA_TEST_USER; stopping it"
            dump_log "$KAFKA_LOG" kafka
            stop_pid "$KAFKA_PIDFILE" kafka
            return 1
            ;;
        esac
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
    echo "kafka: running (pid $(cat "$KAFKA_PIDFILE")) $(_kafka_listeners) data $SLUICE_KAFKA_DATA_DIR"
  else
    echo "kafka: stopped (would listen: $(_kafka_listeners)) data $SLUICE_KAFKA_DATA_DIR"
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
