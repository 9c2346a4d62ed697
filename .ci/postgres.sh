#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tact's tests, on a free loopback port, with trust auth
# for the superuser `tact`. PostgreSQL refuses to run as root: as root the cluster runs as
# the `postgres` user (made by Debian's package), or as a `tact-postgres` user made here.
#
#   .ci/postgres.sh start [DIR]   # DIR: an empty or absent folder (default: a new temp one);
#                                 # prints postgres://tact@127.0.0.1:PORT/postgres
#   .ci/postgres.sh stop DIR      # stops the cluster and removes DIR
#
#   url=$(.ci/postgres.sh start /tmp/pg) && TACT_TEST_POSTGRES=$url cargo test --release
set -euo pipefail

MARKER=tact-throwaway-cluster

die() {
    echo "postgres.sh: $*" >&2
    exit 1
}

# The folder of initdb / pg_ctl: on PATH, or the newest of Debian's versioned ones.
bin_dir() {
    if command -v initdb >/dev/null 2>&1; then
        dirname "$(command -v initdb)"
        return
    fi
    local newest
    newest=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    [[ -n $newest && -x $newest/initdb ]] || die "no initdb: install PostgreSQL (apt-get install postgresql)"
    echo "$newest"
}

# Who runs the cluster: this user, or a non-root one when this is root.
cluster_user() {
    if [[ $(id -u) != 0 ]]; then
        id -un
    elif id postgres >/dev/null 2>&1; then
        echo postgres
    else
        id tact-postgres >/dev/null 2>&1 ||
            useradd --system --no-create-home --shell /usr/sbin/nologin tact-postgres
        echo tact-postgres
    fi
}

# Runs a command as the cluster's user.
as_user() {
    local user=$1
    shift
    if [[ $user == "$(id -un)" ]]; then
        "$@"
    else
        # From /: the caller's folder may be closed to that user.
        (cd / && runuser -u "$user" -- "$@")
    fi
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start() {
    local dir=${1:-}
    if [[ -z $dir ]]; then
        dir=$(mktemp -d "${TMPDIR:-/tmp}/tact-postgres.XXXXXX")
        echo "postgres.sh: cluster in $dir; stop it with: $0 stop $dir" >&2
    fi
    mkdir -p "$dir"
    [[ -z $(ls -A "$dir") ]] || die "$dir is not empty"
    dir=$(cd "$dir" && pwd)
    touch "$dir/$MARKER"
    local bin user
    bin=$(bin_dir)
    user=$(cluster_user)
    chown -R "$user" "$dir"
    as_user "$user" "$bin/initdb" -D "$dir/data" -U tact --auth=trust -E UTF8 --no-locale \
        >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
    # A test cluster: nothing in it must survive a crash, so no fsync; each test opens a pool.
    local attempt port
    for attempt in 1 2 3; do
        port=$(free_port)
        as_user "$user" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
            -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir \
                -c fsync=off -c full_page_writes=off -c max_connections=300" \
            >/dev/null && {
            echo "postgres://tact@127.0.0.1:$port/postgres"
            return
        }
        # Another process may have taken the port between the choice and the start.
        echo "postgres.sh: start on port $port failed (attempt $attempt)" >&2
    done
    cat "$dir/server.log" >&2
    die "the cluster did not start"
}

stop() {
    local dir=${1:?usage: $0 stop DIR}
    [[ -f $dir/$MARKER ]] || die "$dir is not a cluster this script started"
    if [[ -f $dir/data/postmaster.pid ]]; then
        as_user "$(stat -c %U "$dir/data")" "$(bin_dir)/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    fi
    rm -rf "$dir"
}

case ${1:-} in
start) start "${2:-}" ;;
stop) stop "${2:-}" ;;
*) die "usage: $0 start [DIR] | stop DIR" ;;
esac
