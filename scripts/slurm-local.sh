#!/usr/bin/env bash
# A single-node Slurm cluster on this machine, for the tests and CI (docs/sweeps.md "A single-node Slurm for the tests").
#   scripts/slurm-local.sh start    write the config, start munged, slurmctld and slurmd, wait until
#                                   the node is idle (a second start leaves a running cluster alone)
#   scripts/slurm-local.sh stop     cancel its jobs and stop the daemons it started
#   scripts/slurm-local.sh status   exit 0 when the cluster answers, print its node line
# Installs nothing: it needs Debian's slurm-wlm and munge (.ci/run installs them). No systemd,
# cgroups or accounting daemon: the daemons are started by hand with proctrack/linuxproc and
# task/none, as root (run by another user, it runs itself through sudo).
# Client commands find the cluster through SLURM_CONF, which start and status print:
#   export SLURM_CONF=/var/tmp/rnn-native-slurm/slurm.conf
# RNN_SLURM_DIR (default /var/tmp/rnn-native-slurm) holds the config, state, spool and logs;
# RNN_SLURM_PORT (default 6917; slurmd uses the next port) keeps it apart from a system Slurm.
set -euo pipefail

command=${1:-}
# The daemons are in /usr/sbin, which is not on a Debian user's PATH.
export PATH=$PATH:/usr/sbin:/sbin
dir=${RNN_SLURM_DIR:-/var/tmp/rnn-native-slurm}
port=${RNN_SLURM_PORT:-6917}
conf=$dir/slurm.conf
node=$(hostname -s)
start_timeout=${RNN_SLURM_START_TIMEOUT:-60}

usage() { echo "usage: $0 start|stop|status" >&2; exit 2; }
case "$command" in start|stop|status) ;; *) usage ;; esac

if [ "$(id -u)" -ne 0 ] && [ "$command" != status ]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "slurm-local: the daemons run as root: run this as root (sudo is not installed)" >&2
    exit 1
  fi
  # Without a terminal to ask for a password on (tests, CI), sudo must not wait for one.
  sudo_options=()
  [ -t 0 ] || sudo_options=(-n)
  exec sudo "${sudo_options[@]}" env RNN_SLURM_DIR="$dir" RNN_SLURM_PORT="$port" \
    RNN_SLURM_START_TIMEOUT="$start_timeout" bash "$0" "$@"
fi
export SLURM_CONF=$conf

for tool in munged munge slurmctld slurmd sinfo scontrol; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "slurm-local: $tool not found: install Debian's slurm-wlm and munge (apt-get install slurm-wlm munge)" >&2
    exit 1
  fi
done

running() { # pidfile: is the process it names alive?
  [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

log_tails() {
  for log in "$dir/log/slurmctld.log" "$dir/log/slurmd.log" /var/log/munge/munged.log; do
    [ -f "$log" ] || continue
    echo "--- tail of $log"
    tail -n 15 "$log"
  done
}

fail() { echo "slurm-local: $*" >&2; log_tails >&2; exit 1; }

munge_works() { munge -n 2>/dev/null | unmunge >/dev/null 2>&1; }

start_munge() {
  munge_works && return 0
  local key=/etc/munge/munge.key
  if [ ! -s "$key" ]; then
    mkdir -p /etc/munge
    mungekey --create --keyfile="$key"
    echo "slurm-local: created the munge key $key"
  fi
  # munged refuses a key or directories other users could read or write.
  local user=root
  id munge >/dev/null 2>&1 && user=munge
  mkdir -p /run/munge /var/lib/munge /var/log/munge
  chown "$user": /etc/munge "$key" /run/munge /var/lib/munge /var/log/munge
  chmod 700 /etc/munge /var/lib/munge /var/log/munge
  chmod 755 /run/munge
  chmod 400 "$key"
  if [ "$user" = munge ]; then runuser -u munge -- munged; else munged --force; fi
  touch "$dir/munged.ours"
  for _ in $(seq 50); do munge_works && return 0; sleep 0.1; done
  fail "munged did not start"
}

write_config() {
  local hardware mem_mb
  # slurmd -C prints this machine's layout: "NodeName=vm CPUs=2 Boards=1 ... RealMemory=24105".
  hardware=$(slurmd -C | head -n 1 | sed -e 's/^NodeName=[^ ]* //' -e 's/ RealMemory=.*//')
  # Leave some memory to the system; --mem requests must fit under RealMemory.
  mem_mb=$(awk '/^MemTotal:/ { printf "%d", $2 / 1024 * 0.9 }' /proc/meminfo)
  cat >"$conf" <<EOF
# Written by rnn-native scripts/slurm-local.sh: a single-node cluster on $node.
ClusterName=rnn-native
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
# A requeued job waits cred_expire + 1 seconds (default 120) before it may start again.
AuthInfo=cred_expire=5
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
SchedulerType=sched/builtin
# The scheduler also wakes every 2 s (default 60), to start a requeued job once its wait is over.
SchedulerParameters=sched_interval=2
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
JobRequeue=1
ReturnToService=2
KillWait=10
MinJobAge=600
SlurmdParameters=config_overrides
NodeName=$node NodeAddr=127.0.0.1 $hardware RealMemory=$mem_mb State=UNKNOWN
PartitionName=local Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
  chmod 644 "$conf"
}

wait_for_pidfile() { # daemon: it writes its pid file after forking into the background
  for _ in $(seq 100); do running "$dir/$1.pid" && return 0; sleep 0.1; done
  fail "$1 did not start"
}

node_state() { sinfo -h -n "$node" -o %T 2>/dev/null | head -n 1; }

wait_until_up() {
  local deadline=$((SECONDS + start_timeout)) state
  while [ $SECONDS -lt $deadline ]; do
    running "$dir/slurmctld.pid" || fail "slurmctld exited"
    running "$dir/slurmd.pid" || fail "slurmd exited"
    state=$(node_state || true)
    case "$state" in
      idle|mixed|allocated|completing) return 0 ;;
      down*|drain*) scontrol update NodeName="$node" State=RESUME 2>/dev/null || true ;;
    esac
    sleep 0.5
  done
  fail "node $node not idle after ${start_timeout}s (state: ${state:-no answer})"
}

start() {
  if running "$dir/slurmctld.pid" && running "$dir/slurmd.pid"; then
    start_munge
    wait_until_up
    echo "slurm-local: already running"
  else
    stop_daemons
    # A fresh cluster: no jobs, node state or logs of an earlier one.
    rm -rf "$dir/state" "$dir/spool" "$dir/log"
    mkdir -p "$dir/state" "$dir/spool" "$dir/log"
    chmod 755 "$dir"
    start_munge
    write_config
    slurmctld -f "$conf" || fail "slurmctld did not start"
    wait_for_pidfile slurmctld
    slurmd -f "$conf" -N "$node" || fail "slurmd did not start"
    wait_for_pidfile slurmd
    wait_until_up
    # The daemons make their logs root's only; the tests of another user show their tails.
    chmod 644 "$dir"/log/*.log
    echo "slurm-local: node $node up ($(nproc) CPUs)"
  fi
  echo "export SLURM_CONF=$conf"
}

stop_pidfile() { # pidfile: SIGTERM, then SIGKILL after 10 s
  running "$1" || { rm -f "$1"; return 0; }
  local pid
  pid=$(cat "$1")
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  rm -f "$1"
}

stop_daemons() {
  stop_pidfile "$dir/slurmd.pid"
  stop_pidfile "$dir/slurmctld.pid"
}

stop() {
  if running "$dir/slurmctld.pid"; then
    # Jobs first, so that no job step outlives its slurmd.
    squeue -h -o %A 2>/dev/null | sort -u | xargs -r scancel 2>/dev/null || true
    for _ in $(seq 30); do [ -z "$(squeue -h 2>/dev/null)" ] && break; sleep 0.5; done
  fi
  stop_daemons
  if [ -f "$dir/munged.ours" ]; then
    stop_pidfile /run/munge/munged.pid
    rm -f "$dir/munged.ours"
  fi
  echo "slurm-local: stopped"
}

status() {
  local state
  state=$(node_state || true)
  if [ -z "$state" ]; then echo "slurm-local: not running"; exit 1; fi
  echo "slurm-local: node $node $state"
  echo "export SLURM_CONF=$conf"
}

"$command"
