#!/usr/bin/env bash
# A throwaway single-node SLURM cluster for CI (Debian 12 packages, run as root, no systemd).
#
#   .ci/slurm-cluster.sh start  [BASE]   # install packages if missing, write configs, start daemons
#   .ci/slurm-cluster.sh status [BASE]   # exit 0 when every daemon we started is alive
#   .ci/slurm-cluster.sh stop   [BASE]   # cancel jobs, stop exactly our daemons, remove our symlinks
#
# Env: SLURM_BASE (BASE if no argument), SLURMCTLD_PORT / SLURMD_PORT (default 6817 / 6818),
#      SLURM_CPUS (default: the machine's, at least 2) and SLURM_MEM_MB (default: the machine's
#      less 2 GiB, at least 16384): what the node advertises; more oversubscribes it (nothing
#      is enforced),
#      SLURM_FAKE_GPUS (default 2; 0 = a CPU-only cluster: no GPU gres type at all, so that any
#      --gpus request is refused at submission as on a real CPU-only cluster),
#      SLURM_PARTITIONS (default "debug"; space-separated names, all on the one node, the first
#      is the default partition),
#      SLURM_ACCOUNTING (default 0; 1 = job accounting through slurmdbd and a MariaDB server of
#      this BASE, so that sacct works, with an account SLURM_ACCOUNT (default ci_lab) for root).
# BASE (argument, else $SLURM_BASE) holds everything: configs, munge key and socket, state,
# logs, the fake GPU devices. Every ancestor of BASE must be searchable by all (munged runs as
# user munge). Clients need `export SLURM_CONF=$BASE/ci-slurm-etc/slurm.conf` or the symlink below.
#
# What it runs: munged (own key and socket), slurmctld and slurmd in the foreground under setsid,
# their PIDs (and kernel start times, so that a reused PID is never killed) kept in
# $BASE/run/daemons. Without SLURM_ACCOUNTING there is no slurmdbd and no accounting, so
# snakemake-executor-plugin-slurm must use `slurm-status-command: squeue` (with the default
# `sacct` it loses track of its jobs and hangs); squeue needs MinJobAge >= 3 *
# slurm-init-seconds-before-status-checks. With it, mariadbd and slurmdbd run as well.
#
# The one change outside BASE: /etc/slurm/slurm.conf and gres.conf become symlinks into BASE,
# because snakemake-executor-plugin-slurm-jobstep clears SLURM_CONF before its nested `srun`.
# They are made only where the path is absent or is a symlink of ours (into some
# .../ci-slurm-etc/, maybe from an earlier run); `stop` removes only those this BASE made.
#
# The node has SLURM_FAKE_GPUS fake GPUs (gres gpu:fake:N on character devices with the NVIDIA
# major number and no driver) so that `--gpus=1` jobs schedule; programs see no GPU and run on
# the CPU.
# SlurmdParameters=config_overrides lets the node advertise at least 2 CPUs and 16 GiB memory
# (nothing is enforced: no cgroups), so the workflow's 8 GB rules schedule on small CI runners.
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH

PACKAGES=(munge slurmctld slurmd slurm-client)
ACCOUNTING=${SLURM_ACCOUNTING:-0}
ACCOUNT=${SLURM_ACCOUNT:-ci_lab}
DBD_PORT=${SLURMDBD_PORT:-6819}
DB_PORT=${SLURM_DB_PORT:-3307}  # not 3306: never meet a MariaDB of the machine
[ "$ACCOUNTING" = 1 ] && PACKAGES+=(mariadb-server slurmdbd)
CMD=${1:-}
BASE=${2:-${SLURM_BASE:-}}
FAKE_GPUS=${SLURM_FAKE_GPUS:-2}
read -r -a PARTITIONS <<<"${SLURM_PARTITIONS:-debug}"

log() { echo "[slurm-cluster $(date +%T)] $*"; }
die() { log "ERROR: $*" >&2; exit 1; }

usage() { echo "usage: $0 start|stop|status [BASE]   (BASE defaults to \$SLURM_BASE)" >&2; exit 2; }
[[ $CMD =~ ^(start|stop|status)$ ]] || usage
[ -n "$BASE" ] || usage
BASE=$(realpath -m -- "$BASE")
[ "$BASE" != / ] || die "refusing BASE=/"

ETC=$BASE/ci-slurm-etc          # the name marks the /etc/slurm symlinks as ours
CONF=$ETC/slurm.conf
MUNGE=$BASE/munge
SOCKET=$MUNGE/munge.socket
RUN=$BASE/run
LOGS=$BASE/log
DAEMONS=$RUN/daemons            # lines "name pid starttime" of the daemons we started
LINKS=$RUN/symlinks             # the /etc/slurm symlinks we made
export SLURM_CONF=$CONF

# "STATE STARTTIME" of a process (fields 3 and 22 of /proc/PID/stat), empty if it is gone
stat_of() { awk '{sub(/^.*\) /, ""); print $1, $20}' "/proc/$1/stat" 2>/dev/null || true; }
starttime() { local s; s=$(stat_of "$1"); echo "${s#* }"; }

# true if the recorded daemon is still the very process we started (same PID, name and start
# time: never a reused PID) and not a zombie
alive() {  # name pid starttime
  local s
  [ -n "$2" ] && [ "$(cat "/proc/$2/comm" 2>/dev/null)" = "$1" ] || return 1
  s=$(stat_of "$2")
  [ -n "$3" ] && [ "${s#* }" = "$3" ] && [ "${s%% *}" != Z ]
}

# run a daemon in the foreground in its own session, detached from our stdio; record it
launch() {  # name logfile command...
  local name=$1 out=$2 pid st i
  shift 2
  setsid "$@" </dev/null >>"$out" 2>&1 &
  pid=$!
  for i in $(seq 50); do  # setsid execs in place: wait until the exec has happened
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  st=$(starttime "$pid")
  alive "$name" "$pid" "$st" || die "$name did not start; $out:$(echo; tail -n 20 "$out")"
  echo "$name $pid $st" >>"$DAEMONS"
  log "$name started (pid $pid)"
}

# true if any daemon recorded in the given file is still running
any_alive() {
  local name pid st
  [ -s "$1" ] || return 1
  while read -r name pid st; do alive "$name" "$pid" "$st" && return 0; done <"$1"
  return 1
}

# true if the slurmctld we started is running (client commands would only time out otherwise)
ctld_alive() {
  local name pid st
  read -r name pid st < <(grep '^slurmctld ' "$DAEMONS" 2>/dev/null) || return 1
  alive "$name" "$pid" "$st"
}

installed() { [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]; }

install_packages() {
  local missing=() p made_policy=""
  for p in "${PACKAGES[@]}"; do installed "$p" || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null || die "missing packages ${missing[*]} and no apt-get"
  log "installing ${missing[*]}"
  # No init system here: keep the packages' postinst scripts from starting daemons of their own.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d
    made_policy=1
  fi
  local rc=0
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends "${missing[@]}" ||
    { apt-get update -q && apt-get install -y -q --no-install-recommends "${missing[@]}"; } || rc=$?
  [ -z "$made_policy" ] || rm -f /usr/sbin/policy-rc.d
  [ $rc -eq 0 ] || die "apt-get install ${missing[*]} failed ($rc)"
}

# ours: a symlink into some .../ci-slurm-etc/ (this BASE or an earlier one, maybe deleted)
link_is_ours() { [ -L "$1" ] && [[ "$(readlink "$1")" == */ci-slurm-etc/"$(basename "$1")" ]]; }

make_links() {
  local f dst
  mkdir -p /etc/slurm
  for f in slurm.conf gres.conf; do
    dst=/etc/slurm/$f
    if [ -e "$dst" ] || [ -L "$dst" ]; then
      link_is_ours "$dst" || die "$dst exists and is not ours ($(ls -ld "$dst")); not touching it.
Jobs' nested srun reads /etc/slurm/slurm.conf, so this cluster cannot run here."
    fi
    ln -sfn "$ETC/$f" "$dst"
    echo "$dst" >>"$LINKS"
  done
}

write_config() {
  local host cpus mem real
  host=$(hostname -s)
  cpus=${SLURM_CPUS:-$(nproc)}
  [ "$cpus" -ge 2 ] || cpus=2
  real=$(slurmd -C | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p')
  mem=${SLURM_MEM_MB:-$(( ${real:-0} - 2048 ))}
  [ "$mem" -ge 16384 ] || mem=16384
  cat >"$CONF" <<EOF
# Written by .ci/slurm-cluster.sh: throwaway CI cluster.
ClusterName=ci
SlurmctldHost=${host}(127.0.0.1)
SlurmctldPort=${SLURMCTLD_PORT:-6817}
SlurmdPort=${SLURMD_PORT:-6818}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SOCKET
StateSaveLocation=$BASE/state
SlurmdSpoolDir=$BASE/spool
SlurmctldPidFile=$RUN/slurmctld.pid
SlurmdPidFile=$RUN/slurmd.pid
SlurmctldLogFile=$LOGS/slurmctld.log
SlurmdLogFile=$LOGS/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1000
ReturnToService=2
# finished jobs stay visible to squeue and scontrol this long (the plugin needs >= 3 x its init
# seconds; the tests read every job of a whole workflow run back from scontrol)
MinJobAge=3600
MpiDefault=none
SlurmdParameters=config_overrides
EOF
  if [ "$ACCOUNTING" = 1 ]; then
    cat >>"$CONF" <<EOF
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStoragePort=${DBD_PORT}
# the dbd connection does not read AuthInfo: name our munge socket here as well
AccountingStoragePass=${SOCKET}
AccountingStorageTRES=gres/gpu
AccountingStoreFlags=job_comment
EOF
    # slurmdbd reads slurmdbd.conf beside slurm.conf ($SLURM_CONF); it must be mode 600
    cat >"$ETC/slurmdbd.conf" <<EOF
AuthType=auth/munge
AuthInfo=socket=${SOCKET}
DbdHost=${host}
DbdAddr=127.0.0.1
DbdPort=${DBD_PORT}
SlurmUser=root
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=${DB_PORT}
StorageUser=slurm
StoragePass=ci
StorageLoc=slurm_acct_db
PidFile=${RUN}/slurmdbd.pid
LogFile=${LOGS}/slurmdbd.log
EOF
    chmod 600 "$ETC/slurmdbd.conf"
  else
    echo "AccountingStorageType=accounting_storage/none" >>"$CONF"
  fi
  local node="NodeName=${host} NodeAddr=127.0.0.1 CPUs=${cpus} RealMemory=${mem}"
  if [ "$FAKE_GPUS" -gt 0 ]; then
    echo "GresTypes=gpu" >>"$CONF"
    echo "$node Gres=gpu:fake:${FAKE_GPUS} State=UNKNOWN" >>"$CONF"
    # a GPU gres needs File= on character devices (a count alone is dropped by slurmd)
    echo "NodeName=${host} Name=gpu Type=fake File=$BASE/dev/nvidia[0-$((FAKE_GPUS - 1))]" >"$ETC/gres.conf"
  else  # CPU-only: no gres type, so sbatch refuses --gpus ("Invalid generic resource")
    echo "$node State=UNKNOWN" >>"$CONF"
    echo "# CPU-only cluster: no generic resources" >"$ETC/gres.conf"
  fi
  local part default=YES
  for part in "${PARTITIONS[@]}"; do
    echo "PartitionName=${part} Nodes=${host} Default=${default} MaxTime=INFINITE State=UP" >>"$CONF"
    default=NO
  done
}

check_traversable() {
  local d
  d=$(dirname "$BASE")
  while [ "$d" != / ]; do
    [ "$(( 0$(stat -c %a "$d") & 1 ))" -eq 1 ] ||
      die "$d is not searchable by others (mode $(stat -c %a "$d")): munged (user munge) cannot reach $MUNGE"
    d=$(dirname "$d")
  done
}

node_state() { sinfo -h -N -o %t 2>/dev/null | head -n 1; }

start() {
  [ "$(id -u)" = 0 ] || die "needs root (apt-get, mknod, daemons as root, /etc/slurm symlinks)"
  if [ -s "$DAEMONS" ]; then
    if status >/dev/null 2>&1; then log "already running under $BASE"; return 0; fi
    log "a previous start under $BASE is half dead: stopping what is left of it"
    stop
  fi
  local other
  if link_is_ours /etc/slurm/slurm.conf; then  # an earlier cluster of ours, never stopped?
    other=$(readlink /etc/slurm/slurm.conf)
    other=${other%/ci-slurm-etc/slurm.conf}
    if [ "$other" != "$BASE" ] && any_alive "$other/run/daemons"; then
      die "a cluster of ours still runs under $other (same ports); stop it: $0 stop $other"
    fi
  fi
  install_packages
  mkdir -p "$BASE"
  chmod 755 "$BASE"
  check_traversable
  # fresh state each time (an old state dir can bring the node back DRAINED)
  rm -rf "$BASE/state" "$BASE/spool" "$RUN" "$LOGS" "$ETC"
  mkdir -p "$ETC" "$BASE/state" "$BASE/spool" "$RUN" "$LOGS" "$BASE/dev" "$MUNGE"
  : >"$DAEMONS"
  trap 'rc=$?; if [ $rc -ne 0 ]; then log "start failed, cleaning up"; show_logs; stop; fi; exit $rc' EXIT

  # munge: own key and socket; the socket's directory must be 0755 and owned by munge
  chown munge:munge "$MUNGE"
  chmod 755 "$MUNGE"
  [ -f "$MUNGE/munge.key" ] ||
    setpriv --reuid=munge --regid=munge --init-groups mungekey --create --keyfile="$MUNGE/munge.key"
  launch munged "$LOGS/munged.out" setpriv --reuid=munge --regid=munge --init-groups \
    munged --foreground --socket="$SOCKET" --key-file="$MUNGE/munge.key" \
    --log-file="$MUNGE/munged.log" --pid-file="$MUNGE/munged.pid" --seed-file="$MUNGE/munged.seed"
  local i
  for i in $(seq 50); do [ -S "$SOCKET" ] && break; sleep 0.1; done
  [ -S "$SOCKET" ] || die "munged made no socket"

  for ((i = 0; i < FAKE_GPUS; i++)); do  # fake GPUs: NVIDIA's character major 195, no driver
    [ -c "$BASE/dev/nvidia$i" ] || mknod "$BASE/dev/nvidia$i" c 195 "$i"
  done
  write_config
  make_links

  [ "$ACCOUNTING" = 1 ] && start_accounting
  launch slurmctld "$LOGS/slurmctld.out" slurmctld -D -f "$CONF"
  launch slurmd "$LOGS/slurmd.out" slurmd -D -f "$CONF"
  local state="" name pid st
  for i in $(seq 150); do
    state=$(node_state)
    [ "$state" = idle ] && break
    while read -r name pid st; do
      alive "$name" "$pid" "$st" || die "$name exited"
    done <"$DAEMONS"
    sleep 0.2
  done
  [ "$state" = idle ] || die "node is '${state:-unknown}', not idle, after 30 s"
  if [ "$ACCOUNTING" = 1 ]; then
    sacctmgr -i add account "$ACCOUNT" Description=ci Organization=ci >/dev/null
    sacctmgr -i add user root Account="$ACCOUNT" >/dev/null
    log "accounting: sacct works; account $ACCOUNT for root"
  fi
  trap - EXIT
  log "up: $(sinfo -h -o '%P %a %D %T %N %G'); export SLURM_CONF=$CONF"
}

# MariaDB (own data dir, socket and port) and slurmdbd, and the cluster registered with them
start_accounting() {
  local db=$BASE/mysql dbrun=$BASE/mysql-run i
  mkdir -p "$db" "$dbrun"
  chown mysql:mysql "$db" "$dbrun"
  mariadb-install-db --no-defaults --user=mysql --datadir="$db" --auth-root-authentication-method=socket \
    >"$LOGS/mariadb-install.out" 2>&1 || die "mariadb-install-db failed: $(tail -n 20 "$LOGS/mariadb-install.out")"
  launch mariadbd "$LOGS/mariadbd.out" mariadbd --no-defaults --user=mysql --datadir="$db" \
    --socket="$dbrun/mysqld.sock" --pid-file="$dbrun/mysqld.pid" --port="$DB_PORT" \
    --bind-address=127.0.0.1 --skip-name-resolve --log-error="$LOGS/mariadbd.log"
  for i in $(seq 100); do [ -S "$dbrun/mysqld.sock" ] && break; sleep 0.1; done
  mariadb --no-defaults --socket="$dbrun/mysqld.sock" -uroot -e \
    "CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY 'ci';
     GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1'; FLUSH PRIVILEGES;" ||
    die "cannot create the slurm database user"
  launch slurmdbd "$LOGS/slurmdbd.out" slurmdbd -D
  for i in $(seq 100); do sacctmgr -n list cluster >/dev/null 2>&1 && break; sleep 0.2; done
  sacctmgr -i add cluster ci >/dev/null || die "sacctmgr add cluster failed"
}

show_logs() {
  local f
  for f in "$LOGS"/*.out; do  # the daemons' stderr, or their log file where they have one
    [ -s "${f%.out}.log" ] && f=${f%.out}.log
    [ -s "$f" ] || continue
    echo "----- $f (last 15 lines)"
    tail -n 15 "$f"
  done
  ! ctld_alive || sinfo 2>&1 || true
}

status() {
  local name pid st ok=0 n=0
  [ -s "$DAEMONS" ] || { echo "no daemons recorded under $BASE"; return 1; }
  while read -r name pid st; do
    n=$((n + 1))
    if alive "$name" "$pid" "$st"; then echo "$name: running (pid $pid)"; else echo "$name: NOT running"; ok=1; fi
  done <"$DAEMONS"
  [ "$n" -ge 3 ] || ok=1
  [ "$ok" -ne 0 ] || sinfo -N -o '%N %P %T %G %c %m' || ok=1
  return $ok
}

stop() {
  local name pid st i jobs lines=() link
  if [ -s "$DAEMONS" ]; then
    # cancel every job of this throwaway cluster first, so that no job step outlives slurmd
    if ctld_alive && jobs=$(squeue -h -t RUNNING,COMPLETING,PENDING,SUSPENDED -o %i 2>/dev/null) && [ -n "$jobs" ]; then
      log "cancelling jobs: ${jobs//$'\n'/ }"
      # shellcheck disable=SC2086
      scancel $jobs 2>/dev/null || true
      for i in $(seq 50); do
        [ -z "$(squeue -h -t RUNNING,COMPLETING,PENDING -o %i 2>/dev/null)" ] && break
        sleep 0.2
      done
    fi
    mapfile -t lines <"$DAEMONS"
    # reverse start order: slurmd, slurmctld, (slurmdbd, mariadbd,) munged
    for ((i = ${#lines[@]} - 1; i >= 0; i--)); do
      read -r name pid st <<<"${lines[i]}"
      alive "$name" "$pid" "$st" || continue
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 50); do alive "$name" "$pid" "$st" || break; sleep 0.2; done
      if alive "$name" "$pid" "$st"; then
        log "$name ($pid) ignored SIGTERM for 10 s: SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
      fi
      log "stopped $name ($pid)"
    done
    : >"$DAEMONS"
  fi
  if [ -s "$LINKS" ]; then
    while read -r link; do
      # only if it still points into this BASE (a later start may have taken it over)
      if [ -L "$link" ] && [ "$(readlink "$link")" = "$ETC/$(basename "$link")" ]; then
        rm -f "$link"
        log "removed $link"
      fi
    done <"$LINKS"
    : >"$LINKS"
  fi
  return 0
}

"$CMD"
