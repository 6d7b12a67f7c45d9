#!/usr/bin/env bash
# Relay benchmark: cjsm against Postfix, each relaying over verified TLS to the same TLS sink.
#
# Usage: bench/relay.sh [--quick] [--reps N] [--out DIR] [--keep] [--profile CASE]...
#                       [--experiments] [--no-matrix]
#
#   --quick         one run of each case with few messages, to check the set-up (a few minutes)
#   --reps N        runs of each case (default 3); the tables give the medians
#   --out DIR       where the results go (default /var/tmp/cjsm-relay-results-TIMESTAMP)
#   --keep          keep the work directory (configurations, logs, queues, stores)
#   --profile CASE  after the matrix, run cjsm on SQLite under bench/cjsmprof for CASE and
#                   write a CPU profile; CASE is SIZE:CONCURRENCY:MODE, such as 10k:10:reuse
#                   or 10k:50:new. May be given more than once.
#   --experiments   after the matrix, measure proposed cjsm changes on 10k:10:reuse with
#                   bench/cjsmprof: queue.per_destination 20 and other connection pool sizes
#                   for the store. docs/benchmarks.md explains them. Adds about 4 minutes.
#   --no-matrix     skip the matrix and the submission case (with --profile or --experiments)
#
# Run it as root on Debian from a clone of the repository. It installs Postfix, PostgreSQL and
# curl if missing, but Go 1.26 must be on PATH or in /usr/local/go/bin. It builds cjsm and the
# benchmark tools and starts everything on 127.0.0.1 only: a TLS sink, one cjsm node on
# SQLite, one on a throwaway PostgreSQL cluster, and a throwaway Postfix instance. Every
# process it starts is stopped by its process id at the end. Ports come from BENCH_PORT_BASE
# (default 26000) plus 26 to 54.
#
# Each case is a message size (10 KB, 100 KB), a number of concurrent sessions (1, 10, 50)
# and a connection mode (a new connection for each message, or connections reused with RSET).
# For each case every server is started afresh. Each run then sends the case's messages to
# Postfix, to cjsm on SQLite, to cjsm on PostgreSQL and straight to the sink (the ceiling of
# the load generator). The order rotates from one run to the next. A run ends when the sink
# has every message. Both servers take the load on their MX/relay listener as mail from
# a trusted network (cjsm: a trusted domain's servers by source network 127.0.0.0/8;
# Postfix: mynetworks), so neither pays for password hashing; cjsm's submission listener with
# AUTH PLAIN is measured once apart. docs/benchmarks.md ("## Relay") explains the columns.
#
# The last line on standard output is one summary line starting with "RESULT relay".
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
QUICK=0
REPS=3
OUT=""
KEEP=0
PROFILE_CASES=()
EXPERIMENTS=0
MATRIX=1
while (($#)); do
	case $1 in
	--quick) QUICK=1 ;;
	--reps) REPS=${2:?--reps needs a number}; shift ;;
	--out) OUT=${2:?--out needs a directory}; shift ;;
	--keep) KEEP=1 ;;
	--profile) PROFILE_CASES+=("${2:?--profile needs a case such as 10k:10:reuse}"); shift ;;
	--experiments) EXPERIMENTS=1 ;;
	--no-matrix) MATRIX=0 ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "relay.sh: unknown argument $1; see --help" >&2; exit 2 ;;
	esac
	shift
done
if ((QUICK)); then REPS=1; fi

SCRIPT=relay.sh
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || die "run as root: Postfix must be started as root"
export PATH=$PATH:/usr/local/go/bin
command -v go >/dev/null || die "go not found; install Go 1.26 in /usr/local/go or put it on PATH"
export GOTOOLCHAIN=${GOTOOLCHAIN:-local}

STARTED=$(date +%s)
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=${OUT:-/var/tmp/cjsm-relay-results-$STAMP}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
WORK=$(mktemp -d /var/tmp/cjsm-relay.XXXXXX)
chmod 755 "$WORK"
BIN=$WORK/bin
TLS=$WORK/tls

# Ports, all on 127.0.0.1.
B=${BENCH_PORT_BASE:-26000}
SINK_SMTP=$((B + 26)) SINK_HTTP=$((B + 27))
SQLITE_SMTP=$((B + 31)) SQLITE_SUB=$((B + 32)) SQLITE_HTTP=$((B + 33))
NO_DNS=$((B + 34)) # nothing listens here: a DNS look-up by cjsm fails at once, locally
PG_SMTP=$((B + 36)) PG_SUB=$((B + 37)) PG_HTTP=$((B + 38))
POSTFIX_SMTP=$((B + 41))
PG_PORT=$((B + 54))

# Addresses. The load generator plays a server of the trusted domain police.test. cjsm does
# not relay between trusted domains, so the recipient is a person of a gateway organisation,
# whose connector delivers to the sink. The submission case sends from a hosted person to
# police.test, whose route is the sink too.
SENDER=load@police.test
RCPT=dan.dyer@gateway.test.cjsm.test
SUB_USER=sam.sender@bench-hosted.cjsm.test
SUB_RCPT=someone@police.test
BENCH_PASSWORD=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
export BENCH_PASSWORD

# --- processes -------------------------------------------------------------------------

PIDS=()                   # processes started in the background, stopped by id at the end
POSTFIX_RUNNING=0
PG_RUNNING=0

cleanup() {
	set +e
	for name in sqlite pg; do stop_cjsm "$name" 2>/dev/null; done
	((POSTFIX_RUNNING)) && stop_postfix
	((PG_RUNNING)) &&
		runuser -u postgres -- "$PGBIN/pg_ctl" -D "$WORK/pg/data" -m fast -w stop >/dev/null
	for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; done
	if ((KEEP)); then
		log "work directory kept: $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT


# --- installation and build ------------------------------------------------------------

install_missing() {
	local missing=()
	command -v postfix >/dev/null || missing+=(postfix)
	compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
	command -v curl >/dev/null || missing+=(curl)
	((${#missing[@]})) || return 0
	log "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

build() {
	log "building cjsm and the benchmark tools"
	(cd "$REPO" && go build -o "$BIN/" ./cmd/cjsm ./bench/loadgen ./bench/tlssink \
		./bench/benchca ./bench/procstat ./bench/cjsmprof)
}

# --- the sink --------------------------------------------------------------------------

start_sink() {
	setsid "$BIN/tlssink" -listen "127.0.0.1:$SINK_SMTP" -http "127.0.0.1:$SINK_HTTP" \
		-cert "$TLS/cert.pem" -key "$TLS/key.pem" </dev/null >"$WORK/sink.log" 2>&1 &
	PIDS+=($!)
	wait_port "$SINK_SMTP"
	wait_port "$SINK_HTTP"
}

# json_field NAME JSON prints the number NAME of a flat JSON object.
json_field() { sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" <<<"$2"; }

sink_messages() { json_field messages "$(curl -sf "http://127.0.0.1:$SINK_HTTP/count")"; }

# sink_wait N SECONDS prints the sink's counts once it has N messages; it fails on timeout.
sink_wait() {
	curl -sf "http://127.0.0.1:$SINK_HTTP/wait?messages=$1&timeout=${2}s"
}

# --- PostgreSQL ------------------------------------------------------------------------

PGBIN=""
start_pg() {
	PGBIN=$(compgen -G '/usr/lib/postgresql/*/bin' | sort -V | tail -1)
	mkdir -p "$WORK/pg"
	chown postgres:postgres "$WORK/pg"
	runuser -u postgres -- "$PGBIN/initdb" -D "$WORK/pg/data" -U postgres --auth=trust -E UTF8 \
		--locale=C.UTF-8 >"$WORK/pg/initdb.log"
	# fsync and synchronous_commit stay on (the defaults): cjsm commits before its 250.
	cat >>"$WORK/pg/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$WORK/pg'
EOF
	runuser -u postgres -- "$PGBIN/pg_ctl" -D "$WORK/pg/data" -l "$WORK/pg/server.log" -w \
		start >/dev/null
	PG_RUNNING=1
	runuser -u postgres -- "$PGBIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres cjsm
}

pg_pid() { head -1 "$WORK/pg/data/postmaster.pid"; }

# --- cjsm ------------------------------------------------------------------------------

# other_listeners_off prints `NAME = ""` for every listen.* option of this cjsm build but
# smtp, submission and http, so that listeners added later (IMAP, POP3, …) stay off instead
# of taking their default ports on every address.
other_listeners_off() {
	"$BIN/cjsm" config reference | sed -n 's/^| `listen\.\([a-z0-9_]*\)`.*/\1/p' |
		grep -vx -e smtp -e submission -e http | sed 's/$/ = ""/'
}

# cjsm_config NAME DSN SMTP SUBMISSION HTTP writes $WORK/cjsm-NAME/cjsm.toml. Every option
# not named here keeps its default (queue.workers 20, queue.per_destination 4).
cjsm_config() {
	local dir=$WORK/cjsm-$1
	mkdir -p "$dir"
	cat >"$dir/cjsm.toml" <<EOF
hostname = "cjsm-$1.bench.test"
node_id = "bench-$1"
community_suffix = "cjsm.test"
data_dir = "data"

[store]
dsn = "$2"

[tls]
cert_file = "$TLS/cert.pem"
key_file = "$TLS/key.pem"
root_ca_file = "$TLS/ca.pem"

[listen]
smtp = "127.0.0.1:$3"
submission = "127.0.0.1:$4"
http = "127.0.0.1:$5"
$(other_listeners_off)

[dns]
resolver = "127.0.0.1:$NO_DNS"

[log]
format = "json"
level = "info"
EOF
}

# cjsm_community NAME creates the community through the operator commands.
cjsm_community() {
	local admin=("$BIN/cjsm" admin --config "$WORK/cjsm-$1/cjsm.toml")
	{
		"${admin[@]}" org create --kind hosted --status active --slug bench-hosted "Bench Hosted"
		"${admin[@]}" person create --org bench-hosted --first-name Sam --last-name Sender \
			--password-env BENCH_PASSWORD
		"${admin[@]}" trusted create police.test --source-networks 127.0.0.0/8 \
			--route "127.0.0.1:$SINK_SMTP"
		"${admin[@]}" org create --kind gateway --status active --slug bench-gateway "Bench Gateway"
		"${admin[@]}" domain add --org bench-gateway gateway.test
		"${admin[@]}" domain verify gateway.test
		"${admin[@]}" person create --org bench-gateway --first-name Dan --last-name Dyer \
			--address dan.dyer@gateway.test
		"${admin[@]}" connector create bench-gateway-mail --org bench-gateway \
			--outbound-host 127.0.0.1 --outbound-port "$SINK_SMTP"
	} >"$WORK/cjsm-$1/community.log"
}

declare -A CJSM_PID=() CJSM_SMTP=([sqlite]=$SQLITE_SMTP [pg]=$PG_SMTP)
declare -A CJSM_SUB=([sqlite]=$SQLITE_SUB [pg]=$PG_SUB)

# start_cjsm NAME [PROGRAM ARGS...] runs `cjsm serve`, or the program given (cjsmprof).
start_cjsm() {
	local name=$1 dir=$WORK/cjsm-$1
	shift
	local cmd=("$BIN/cjsm" serve --config "$dir/cjsm.toml")
	(($#)) && cmd=("$@")
	# setsid runs in the background child without forking, so $! is the node's own pid.
	setsid "${cmd[@]}" </dev/null >>"$dir/cjsm.log" 2>&1 &
	CJSM_PID[$name]=$!
	wait_port "${CJSM_SMTP[$name]}"
	check_loopback_only "${CJSM_PID[$name]}"
}

# check_loopback_only PID stops the benchmark when the process listens on an address other
# than 127.0.0.1, such as a listener that a newer cjsm has and this script does not turn off.
check_loopback_only() {
	command -v ss >/dev/null || return 0
	local bad
	bad=$(ss -Hltnp 2>/dev/null | grep "pid=$1," | awk '$4 !~ /^127\.0\.0\.1:/ {print $4}')
	[ -z "$bad" ] || die "process $1 listens on $bad, not only on 127.0.0.1;" \
		"turn that listener off in cjsm_config"
}

stop_cjsm() {
	local pid=${CJSM_PID[$1]:-}
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || true
	local i
	for ((i = 0; i < 400; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	unset "CJSM_PID[$1]"
}

# --- Postfix ---------------------------------------------------------------------------

PF=$WORK/postfix
postfix_config() {
	mkdir -p "$PF/etc" "$PF/spool" "$PF/data" "$PF/log"
	chown postfix:postfix "$PF/data"
	# Postfix defaults apart from what a throwaway relay needs: smtpd requires STARTTLS,
	# delivery goes only to the sink over TLS verified against the benchmark CA, with the
	# client TLS session cache that Debian's main.cf enables. The queue keeps its default
	# durability (cleanup fsyncs each queue file before the 250).
	cat >"$PF/etc/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $PF/spool
data_directory = $PF/data
mail_owner = postfix
setgid_group = postdrop
myhostname = postfix.bench.test
mydomain = bench.test
myorigin = \$myhostname
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relay_domains =
relayhost = [localhost]:$SINK_SMTP
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtp_dns_support_level = disabled
lmtp_dns_support_level = disabled
smtp_host_lookup = native
smtpd_peername_lookup = no
maillog_file = $PF/log/maillog
maillog_file_prefixes = /var, /dev/stdout, $PF
biff = no
append_dot_mydomain = no
smtpd_tls_chain_files = $TLS/chain.pem
smtpd_tls_security_level = encrypt
smtp_tls_security_level = secure
smtp_tls_CAfile = $TLS/ca.pem
smtp_tls_session_cache_database = btree:\${data_directory}/smtp_scache
EOF
	# Debian's master.cf with smtpd on the benchmark port, nothing chrooted, and without the
	# pipe services at its end.
	sed -e "s/^smtp      inet  n       -       y/127.0.0.1:$POSTFIX_SMTP inet n     -       n/" \
		-e 's/^\([a-z]* *unix  *[-n]  *[-n]  *\)y /\1n /' /etc/postfix/master.cf |
		awk '/^maildrop/{exit} {print}' >"$PF/etc/master.cf"
	postfix -c "$PF/etc" check
}

start_postfix() {
	postfix -c "$PF/etc" start 2>>"$PF/log/start.log"
	POSTFIX_RUNNING=1
	wait_port "$POSTFIX_SMTP"
}

postfix_pid() { tr -d ' ' <"$PF/spool/pid/master.pid"; }

stop_postfix() {
	local pid
	pid=$(postfix_pid)
	postfix -c "$PF/etc" stop 2>>"$PF/log/start.log" || true
	local i
	for ((i = 0; i < 400; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	POSTFIX_RUNNING=0
}

# --- one run ---------------------------------------------------------------------------

RESULTS=$OUT/runs.tsv
TSV_COLUMNS=(path case size c mode rep system n ok errors accept_rate rate p50_ms p99_ms cpu_s
	cpu_per_1000 db_cpu_per_1000 hwm_kb pss_kb)
(IFS=$'\t'; echo "${TSV_COLUMNS[*]}") >"$RESULTS"

# field KEY LINE prints the value of KEY=value in a loadgen or procstat line.
field() { sed -n "s/.*[ ^]$1=\([^ ]*\).*/\1/p" <<<" $2"; }

ticks() { [ -n "$1" ] && field ticks "$("$BIN/procstat" -pid "$1")" || echo 0; }

# run_one PATH SYSTEM SIZE C MODE N REP [LABEL] sends one run of load and appends its row,
# under LABEL instead of SYSTEM when given.
run_one() {
	local path=$1 system=$2 size=$3 c=$4 mode=$5 n=$6 rep=$7 label=${8:-$2}
	local addr pid="" dbpid="" extra=()
	case $system in
	postfix) addr=127.0.0.1:$POSTFIX_SMTP pid=$(postfix_pid) ;;
	cjsm-sqlite) addr=127.0.0.1:${CJSM_SMTP[sqlite]} pid=${CJSM_PID[sqlite]} ;;
	cjsm-pg) addr=127.0.0.1:${CJSM_SMTP[pg]} pid=${CJSM_PID[pg]} dbpid=$(pg_pid) ;;
	sink) addr=127.0.0.1:$SINK_SMTP ;;
	esac
	local from=$SENDER to=$RCPT
	if [ "$path" = submission ]; then
		local name=${system#cjsm-}
		addr=127.0.0.1:${CJSM_SUB[$name]} from=$SUB_USER to=$SUB_RCPT
		extra=(-auth-user "$SUB_USER" -auth-password-env BENCH_PASSWORD)
	fi
	[ "$mode" = reuse ] && extra+=(-reuse)

	local before cpu0 db0 line
	before=$(sink_messages)
	cpu0=$(ticks "$pid")
	db0=$(ticks "$dbpid")
	line=$("$BIN/loadgen" -addr "$addr" -ca "$TLS/ca.pem" -from "$from" -to "$to" -n "$n" \
		-c "$c" -size "$size" -run-id "$STAMP-$path-$system-$size-$c-$mode-$rep" \
		"${extra[@]}" 2>>"$OUT/loadgen-errors.log" | grep '^RESULT') || true
	echo "$line" >>"$OUT/loadgen.log"
	local ok start_ns
	ok=$(field ok "$line")
	start_ns=$(field start_ns "$line")
	[ -n "$ok" ] || die "loadgen printed no result for $path $system $size c=$c $mode;" \
		"see $OUT/loadgen-errors.log"

	# Wait for the sink: generous, since a slow case is a result, not a failure.
	local counts last_ns
	counts=$(sink_wait $((before + ok)) $((60 + n / 4))) ||
		log "WARNING: the sink did not get all $ok messages of $system $size c=$c $mode"
	last_ns=$(json_field last_ns "$counts")
	# cjsm records each delivery after the sink's 250, Postfix removes the queue file: let
	# that finish before reading the CPU time.
	sleep 1

	local cpu1=0 db1=0 mem=""
	if [ -n "$pid" ]; then
		mem=$("$BIN/procstat" -pid "$pid")
		cpu1=$(field ticks "$mem")
	fi
	db1=$(ticks "$dbpid")
	awk -v OFS='\t' -v path="$path" -v size="$size" -v c="$c" -v mode="$mode" -v rep="$rep" \
		-v sysname="$label" -v n="$n" -v ok="$ok" -v errors="$(field errors "$line")" \
		-v accept="$(field rate "$line")" -v start="$start_ns" -v last="${last_ns:-0}" \
		-v p50="$(field p50_ms "$line")" -v p99="$(field p99_ms "$line")" \
		-v cpu=$((cpu1 - cpu0)) -v db=$((db1 - db0)) -v haspid="$pid" \
		-v hwm="$(field hwm_kb "$mem")" -v pss="$(field pss_kb "$mem")" 'BEGIN {
			rate = (last > start && ok > 0) ? ok / ((last - start) / 1e9) : 0
			cpus = haspid ? sprintf("%.2f", cpu / 100) : "-"
			per = (haspid && ok > 0) ? sprintf("%.2f", cpu / 100 / ok * 1000) : "-"
			dbper = (db > 0 && ok > 0) ? sprintf("%.2f", db / 100 / ok * 1000) : "-"
			print path, size "-c" c "-" mode, size, c, mode, rep, sysname, n, ok, errors, \
				accept, sprintf("%.1f", rate), p50, p99, cpus, per, dbper, \
				(hwm == "" ? "-" : hwm), (pss == "" ? "-" : pss)
		}' >>"$RESULTS"
	log "$(tail -1 "$RESULTS" | cut -f1,2,6,7,9,10,12-17)"
}

# --- the matrix ------------------------------------------------------------------------

# messages SIZE C MODE prints the number of messages of a case: enough for a few seconds of
# the slowest server, so that a full run stays near 15 minutes on 2 cores.
messages() {
	local size=$1 c=$2 mode=$3 n
	case "$size:$c:$mode" in
	10k:1:new) n=200 ;;
	10k:1:reuse) n=500 ;;
	10k:*:new) n=600 ;;
	10k:*:reuse) n=1000 ;;
	100k:1:new) n=100 ;;
	100k:1:reuse) n=250 ;;
	100k:*:new) n=300 ;;
	100k:*:reuse) n=400 ;;
	esac
	((QUICK)) && n=$((n / 10))
	echo "$n"
}

ORDER=(postfix cjsm-sqlite cjsm-pg sink)

# run_case SIZE C MODE starts every server afresh and runs the case REPS times.
run_case() {
	local size=$1 c=$2 mode=$3 n rep i
	n=$(messages "$size" "$c" "$mode")
	start_postfix
	start_cjsm sqlite
	start_cjsm pg
	for ((rep = 1; rep <= REPS; rep++)); do
		for ((i = 0; i < ${#ORDER[@]}; i++)); do
			run_one relay "${ORDER[(i + rep - 1) % ${#ORDER[@]}]}" "$size" "$c" "$mode" "$n" "$rep"
		done
	done
	stop_cjsm sqlite
	stop_cjsm pg
	stop_postfix
}

# run_submission runs cjsm's submission listener with AUTH PLAIN: 10 KB, 10 sessions, both
# connection modes. A new connection signs in again, so it costs one Argon2id check a message.
run_submission() {
	local mode n rep name
	start_cjsm sqlite
	start_cjsm pg
	for mode in reuse new; do
		n=1000
		[ "$mode" = new ] && n=200
		((QUICK)) && n=$((n / 10))
		for ((rep = 1; rep <= REPS; rep++)); do
			for name in cjsm-sqlite cjsm-pg; do
				run_one submission "$name" 10k 10 "$mode" "$n" "$rep"
			done
		done
	done
	stop_cjsm sqlite
	stop_cjsm pg
}

# profile_case SIZE:C:MODE runs the case against cjsm on SQLite under cjsmprof.
profile_case() {
	local size c mode n
	IFS=: read -r size c mode <<<"$1"
	[ -n "$mode" ] || die "--profile $1: give SIZE:CONCURRENCY:MODE, such as 10k:10:reuse"
	n=$(messages "$size" "$c" "$mode")
	n=$((n * 2))
	local prof=$OUT/cpu-$size-c$c-$mode.pprof
	start_cjsm sqlite "$BIN/cjsmprof" -config "$WORK/cjsm-sqlite/cjsm.toml" -cpuprofile "$prof"
	run_one profile cjsm-sqlite "$size" "$c" "$mode" "$n" 1
	stop_cjsm sqlite
	cp "$BIN/cjsmprof" "$OUT/cjsmprof"
	go tool pprof -top -nodecount=40 "$OUT/cjsmprof" "$prof" >"${prof%.pprof}.top.txt" 2>/dev/null
	go tool pprof -top -cum -nodecount=60 "$OUT/cjsmprof" "$prof" >"${prof%.pprof}.cum.txt" \
		2>/dev/null
	log "CPU profile: $prof (top functions in ${prof%.pprof}.top.txt)"
}

# experiments measures proposed changes to cjsm against cjsm as it is, alternating, on one
# case. Every cjsm variant runs under cjsmprof, so that profiling costs all of them the same.
# Each variant is LABEL:STORE:CONFIG:CJSMPROF-FLAGS.
experiments() {
	local size=10k c=10 mode=reuse n rep i
	n=$(messages "$size" "$c" "$mode")
	local store
	for store in sqlite pg; do
		cp "$WORK/cjsm-$store/cjsm.toml" "$WORK/cjsm-$store/pd20.toml"
		printf '\n[queue]\nper_destination = 20\n' >>"$WORK/cjsm-$store/pd20.toml"
	done
	local variants=(
		"postfix:::"
		"cjsm-sqlite:sqlite:cjsm.toml:"
		"cjsm-sqlite per_destination=20:sqlite:pd20.toml:"
		"cjsm-sqlite per_destination=20, 1 connection:sqlite:pd20.toml:-max-open-conns 1"
		"cjsm-pg:pg:cjsm.toml:"
		"cjsm-pg 20 idle connections:pg:cjsm.toml:-max-idle-conns 20"
		"cjsm-pg 20 idle connections, per_destination=20:pg:pd20.toml:-max-idle-conns 20"
	)
	log "experiments on $size c=$c $mode: $n messages, $REPS run(s) of ${#variants[@]} variants"
	for ((rep = 1; rep <= REPS; rep++)); do
		for ((i = 0; i < ${#variants[@]}; i++)); do
			local v=$(((i + rep - 1) % ${#variants[@]})) label config flags
			IFS=: read -r label store config flags <<<"${variants[v]}"
			if [ -z "$store" ]; then
				start_postfix
				run_one experiment postfix "$size" "$c" "$mode" "$n" "$rep"
				stop_postfix
				continue
			fi
			local prof=$OUT/experiment-$((v + 1))-run$rep.pprof
			# shellcheck disable=SC2086 # flags are words by design
			start_cjsm "$store" "$BIN/cjsmprof" -config "$WORK/cjsm-$store/$config" \
				-cpuprofile "$prof" $flags
			run_one experiment "cjsm-$store" "$size" "$c" "$mode" "$n" "$rep" "$label"
			stop_cjsm "$store"
		done
	done
}

# --- summary ---------------------------------------------------------------------------

# summarise writes the tables of medians to $OUT/summary.md and the summary line to
# $OUT/result.txt.
summarise() {
	awk -F'\t' -v reps="$REPS" -v quick="$QUICK" -v elapsed=$(($(date +%s) - STARTED)) \
		-f "$REPO/bench/relay_summary.awk" "$RESULTS" >"$OUT/summary.md" 2>"$OUT/result.txt"
}

# --- main ------------------------------------------------------------------------------

install_missing
build
for p in $SINK_SMTP $SINK_HTTP $SQLITE_SMTP $SQLITE_SUB $SQLITE_HTTP $NO_DNS $PG_SMTP $PG_SUB \
	$PG_HTTP $POSTFIX_SMTP $PG_PORT; do
	port_open "$p" && die "127.0.0.1:$p is in use; choose other ports with BENCH_PORT_BASE"
done

"$BIN/benchca" -dir "$TLS"
chmod 755 "$TLS" # the Postfix delivery agent reads ca.pem as user postfix
start_sink
start_pg
cjsm_config sqlite "" "$SQLITE_SMTP" "$SQLITE_SUB" "$SQLITE_HTTP"
cjsm_config pg "postgres://postgres@127.0.0.1:$PG_PORT/cjsm?sslmode=disable" "$PG_SMTP" \
	"$PG_SUB" "$PG_HTTP"
cjsm_community sqlite
cjsm_community pg
postfix_config

{
	echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "nproc: $(nproc)"
	free -h
	echo "kernel: $(uname -r)"
	echo "cpu: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | sort -u | head -1)"
	echo "go: $(go version)"
	echo "cjsm: $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
		"(plus the working tree)"
	echo "postfix: $(postconf -d -h mail_version 2>/dev/null)"
	echo "postgresql: $("$PGBIN/postgres" --version)"
	echo "openssl: $(openssl version 2>/dev/null || echo unknown)"
	echo "reps: $REPS quick: $QUICK"
	echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$OUT/machine.txt"
log "results go to $OUT"

if ((MATRIX)); then
	for size in 10k 100k; do
		for c in 1 10 50; do
			for mode in new reuse; do
				log "case $size c=$c $mode: $(messages $size $c $mode) messages, $REPS run(s)"
				run_case "$size" "$c" "$mode"
			done
		done
	done
	log "cjsm submission listener with AUTH PLAIN"
	run_submission
fi
for pc in "${PROFILE_CASES[@]}"; do
	profile_case "$pc"
done
((EXPERIMENTS)) && experiments

# The machine may be shared: a high load average means other work took CPU from the runs.
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/machine.txt"
summarise
cat "$OUT/machine.txt" "$OUT/summary.md"
echo "results: $OUT"
cat "$OUT/result.txt"
