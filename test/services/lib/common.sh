# Shared helpers for the local Kafka and Elasticsearch servers. Sourced, not run.
# Everything a server leaves on disk lives under $SLUICE_SERVICES_DIR (git-ignored).

SERVICES_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REPO_ROOT=$(cd "$SERVICES_ROOT/../.." && pwd)
: "${SLUICE_SERVICES_DIR:=$REPO_ROOT/.services}"
mkdir -p "$SLUICE_SERVICES_DIR"

log() { printf '[services] %s\n' "$*" >&2; }

# pid_alive PIDFILE: true when the file names a live process. A zombie counts as dead: a killed,
# orphaned JVM can stay one for a second or more until init reaps it, and kill -0 still succeeds.
pid_alive() {
  local pid state
  [ -f "$1" ] || return 1
  pid=$(cat "$1" 2>/dev/null) || return 1
  [ -n "$pid" ] || return 1
  state=$(ps -o stat= -p "$pid" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "${state:0:1}" != Z ]
}

# wait_until SECONDS DESCRIPTION COMMAND...: polls COMMAND every half second until it
# succeeds or the deadline passes (returns 1).
wait_until() {
  local deadline=$((SECONDS + $1)) what=$2
  shift 2
  until "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ]; then
      log "timed out waiting for $what"
      return 1
    fi
    sleep 0.5
  done
}

# stop_pid PIDFILE NAME: SIGTERM, wait up to 30 s, then SIGKILL; never leaves the process behind.
stop_pid() {
  local pidfile=$1 name=$2 pid
  if ! pid_alive "$pidfile"; then
    rm -f "$pidfile"
    return 0
  fi
  pid=$(cat "$pidfile")
  log "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + 30))
  while pid_alive "$pidfile" && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
  if pid_alive "$pidfile"; then
    log "$name did not stop within 30 s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
    while pid_alive "$pidfile"; do sleep 0.1; done
  fi
  rm -f "$pidfile"
}

# dump_log FILE NAME: print the tail of a server log after a failed start.
dump_log() {
  log "---- last 80 lines of $2 log ($1) ----"
  tail -n 80 "$1" >&2 2>/dev/null || true
  log "---- end of $2 log ----"
}

# java_home_at_least FEATURE: prints the home of a JDK whose feature version is FEATURE or newer:
# $JAVA_HOME when it qualifies, else the newest one under /usr/lib/jvm. Fails when there is none.
java_home_at_least() {
  local want=$1 best='' best_v=0 home v
  for home in "${JAVA_HOME:-}" /usr/lib/jvm/*; do
    [ -n "$home" ] && [ -x "$home/bin/java" ] && [ -f "$home/release" ] || continue
    v=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$home/release")
    [ -n "$v" ] && [ "$v" -ge "$want" ] || continue
    if [ "$home" = "${JAVA_HOME:-}" ]; then
      printf '%s' "$home"
      return 0
    fi
    if [ "$v" -gt "$best_v" ]; then best=$home best_v=$v; fi
  done
  [ -n "$best" ] && printf '%s' "$best"
}
