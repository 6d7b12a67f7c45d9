#!/usr/bin/env bash
# Mailbox benchmark: local delivery into hosted mailboxes, and IMAP on a 100,000-message INBOX,
# each on SQLite and on PostgreSQL.
#
# Usage: bench/mailbox.sh [--quick] [--reps N] [--messages N] [--out DIR] [--keep]
#
#   --quick         one delivery run of each case with few messages and a 10,000-message
#                   INBOX, to check the set-up (about two minutes)
#   --reps N        delivery runs of each case (default 3); the tables give the medians
#   --messages N    messages in the big INBOX (default 100000)
#   --out DIR       where the results go (default /var/tmp/cjsm-mailbox-results-TIMESTAMP)
#   --keep          keep the work directory (configurations, logs, stores)
#
# Run it as root on Debian from a clone of the repository, with PostgreSQL installed
# (apt-get install postgresql) and Go 1.26 on PATH or in /usr/local/go/bin. It builds cjsm and
# the benchmark tools and starts, on 127.0.0.1 only, a throwaway PostgreSQL cluster with the
# defaults of a new cluster (fsync on) and cjsm nodes on SQLite and on that cluster. Every
# process it starts is stopped by its process id at the end. Ports are BENCH_PORT_BASE
# (default 27000) plus 1 to 5.
#
# 1. Local delivery. bench/loadgen sends 10 KB messages over STARTTLS submission with AUTH
#    PLAIN (connections reused, RSET between messages) from one hosted person to another of
#    the same organisation, from 1 and from 10 concurrent sessions. Nothing is relayed: cjsm
#    files the copy in the recipient's INBOX in the transaction that commits before its 250,
#    so loadgen's rate is the delivery rate. The node is stopped before and after each run so
#    that the SQLite WAL is checkpointed into the database file. The growth per message is
#    the growth of each size over the run divided by the messages delivered. The sizes are
#    the database file plus WAL (SQLite) or pg_database_size (PostgreSQL), the blob files in
#    octets, and the blob directory with its fan-out directories in allocated KiB. After each
#    run IMAP STATUS INBOX (MESSAGES) must count every message delivered so far.
# 2. A big INBOX. bench/mailbox/bigmailbox fills one person's INBOX through the store in one
#    process. It times SELECT, UID FETCH of the newest 50 envelopes and UID SEARCH BODY over
#    IMAP, then writes CPU profiles of both. Its doc comment gives the details.
#
# The last line of output is one summary line starting with "RESULT mailbox".
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
QUICK=0
REPS=3
BIG=100000
OUT=""
KEEP=0
while (($#)); do
	case $1 in
	--quick) QUICK=1 ;;
	--reps) REPS=${2:?--reps needs a number}; shift ;;
	--messages) BIG=${2:?--messages needs a number}; shift ;;
	--out) OUT=${2:?--out needs a directory}; shift ;;
	--keep) KEEP=1 ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "mailbox.sh: unknown argument $1; see --help" >&2; exit 2 ;;
	esac
	shift
done
if ((QUICK)); then
	REPS=1
	BIG=10000
fi

SCRIPT=mailbox.sh
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || die "run as root: the PostgreSQL cluster runs as the postgres user"
export PATH=$PATH:/usr/local/go/bin
command -v go >/dev/null || die "go not found; install Go 1.26 in /usr/local/go or put it on PATH"
command -v curl >/dev/null || die "curl not found; apt-get install curl"
PGBIN=$(compgen -G '/usr/lib/postgresql/*/bin' | sort -V | tail -1) ||
	die "PostgreSQL not found; apt-get install postgresql"
export GOTOOLCHAIN=${GOTOOLCHAIN:-local}

STARTED=$(date +%s)
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=${OUT:-/var/tmp/cjsm-mailbox-results-$STAMP}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
WORK=$(mktemp -d /var/tmp/cjsm-mailbox.XXXXXX)
chmod 755 "$WORK"
BIN=$WORK/bin
TLS=$WORK/tls

B=${BENCH_PORT_BASE:-27000}
PG_PORT=$((B + 1))
declare -A SUB_PORT=([sqlite]=$((B + 2)) [pg]=$((B + 4)))
declare -A IMAPS_PORT=([sqlite]=$((B + 3)) [pg]=$((B + 5)))

SUFFIX=cjsm.test
SENDER=sam.sender@bench-mail.$SUFFIX
RCPT=rita.recipient@bench-mail.$SUFFIX
BENCH_PASSWORD=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
export BENCH_PASSWORD

# --- processes -------------------------------------------------------------------------

NODE_PID=""
PG_RUNNING=0

cleanup() {
	set +e
	stop_node
	((PG_RUNNING)) && pg_ctl -m fast -w stop >/dev/null
	if ((KEEP)); then
		log "work directory kept: $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT


# --- PostgreSQL ------------------------------------------------------------------------

start_pg() {
	mkdir -p "$WORK/pg"
	chown postgres:postgres "$WORK/pg"
	runuser -u postgres -- "$PGBIN/initdb" -D "$WORK/pg/data" -U postgres --auth=trust -E UTF8 \
		--locale=C.UTF-8 >"$WORK/pg/initdb.log"
	cat >>"$WORK/pg/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$WORK/pg'
EOF
	pg_ctl -l "$WORK/pg/server.log" -w start >/dev/null
	PG_RUNNING=1
}

pg_ctl() { runuser -u postgres -- "$PGBIN/pg_ctl" -D "$WORK/pg/data" "$@"; }

psql_at() { psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -At -c "$1"; }

# --- cjsm ------------------------------------------------------------------------------

# write_config DIR DSN SUBMISSION IMAPS writes DIR/cjsm.toml; DSN "" means SQLite in DIR/data.
write_config() {
	local dir=$1 dsn=$2
	mkdir -p "$dir"
	{
		cat <<EOF
hostname = "localhost"
community_suffix = "$SUFFIX"
data_dir = "$dir/data"
EOF
		[ -n "$dsn" ] && printf '\n[store]\ndsn = "%s"\n' "$dsn"
		cat <<EOF

[tls]
cert_file = "$TLS/cert.pem"
key_file = "$TLS/key.pem"

[listen]
smtp = ""
submission = "$3"
submissions = ""
imap = ""
imaps = "$4"
pop3 = ""
pop3s = ""
http = ""

[log]
format = "json"
level = "warn"
EOF
	} >"$dir/cjsm.toml"
}

start_node() {
	local name=$1 dir=$WORK/deliver-$1
	setsid "$BIN/cjsm" serve --config "$dir/cjsm.toml" </dev/null >>"$dir/cjsm.log" 2>&1 &
	NODE_PID=$!
	wait_port "${SUB_PORT[$name]}"
	wait_port "${IMAPS_PORT[$name]}"
}

stop_node() {
	[ -n "$NODE_PID" ] || return 0
	kill -TERM "$NODE_PID" 2>/dev/null || true
	local i
	for ((i = 0; i < 600; i++)); do
		kill -0 "$NODE_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$NODE_PID" 2>/dev/null && die "cjsm (pid $NODE_PID) did not stop within 60 s"
	NODE_PID=""
}

# sizes NAME prints "DB BLOB_OCTETS BLOB_KIB" of a delivery store: database file plus WAL
# (SQLite) or pg_database_size (PostgreSQL), then the blob directory.
sizes() {
	local dir=$WORK/deliver-$1/data db
	if [ "$1" = sqlite ]; then
		db=$(sqlite_octets "$dir")
	else
		db=$(psql_at "SELECT pg_database_size('deliver')")
	fi
	echo "$db $(blob_octets "$dir/blobs") $(du -sk "$dir/blobs" | cut -f1)"
}

# sqlite_octets DIR prints the size of DIR/cjsm.db plus its WAL, if any.
sqlite_octets() {
	local wal=0
	[ -f "$1/cjsm.db-wal" ] && wal=$(stat -c %s "$1/cjsm.db-wal")
	echo $(($(stat -c %s "$1/cjsm.db") + wal))
}

# blob_octets DIR prints the sum of the sizes of the files under DIR. du -sb would add the
# 4 KiB of each new fan-out directory, which a short run cannot spread over enough messages.
blob_octets() { find "$1" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }'; }

# inbox_count NAME prints the number of messages in the recipient's INBOX (IMAP STATUS).
inbox_count() {
	curl -s --ssl-reqd --cacert "$TLS/ca.pem" --resolve "localhost:${IMAPS_PORT[$1]}:127.0.0.1" \
		-u "$RCPT:$BENCH_PASSWORD" "imaps://localhost:${IMAPS_PORT[$1]}/" \
		-X 'STATUS INBOX (MESSAGES)' | sed -n 's/.*MESSAGES \([0-9]*\).*/\1/p'
}

# field KEY LINE prints the value of KEY=value in a summary line.
field() { sed -n "s/.*[ ^]$1=\([^ ]*\).*/\1/p" <<<" $2"; }

# --- 1. local delivery -----------------------------------------------------------------

DELIVERY=$OUT/delivery.tsv
{
	printf 'store\tc\trep\tn\tok\terrors\trate\tp50_ms\tp99_ms\t'
	printf 'db_per_msg\tblob_per_msg\tblob_kib_per_msg\tinbox\n'
} >"$DELIVERY"

setup_delivery() {
	local name=$1 dsn="" dir=$WORK/deliver-$1
	if [ "$name" = pg ]; then
		psql_at "CREATE DATABASE deliver" >/dev/null
		dsn="postgres://postgres@127.0.0.1:$PG_PORT/deliver?sslmode=disable"
	fi
	write_config "$dir" "$dsn" "127.0.0.1:${SUB_PORT[$name]}" "127.0.0.1:${IMAPS_PORT[$name]}"
	local admin=("$BIN/cjsm" admin --config "$dir/cjsm.toml")
	{
		"${admin[@]}" org create --kind hosted --status active --slug bench-mail "Bench Mail"
		"${admin[@]}" person create --org bench-mail --first-name Sam --last-name Sender \
			--password-env BENCH_PASSWORD
		"${admin[@]}" person create --org bench-mail --first-name Rita --last-name Recipient \
			--password-env BENCH_PASSWORD
	} >"$dir/community.log" 2>&1 || die "creating the community failed; see $dir/community.log"
	# One start creates the blob directory and the recipient's folders.
	start_node "$name"
	[ "$(inbox_count "$name")" = 0 ] || die "the new INBOX of $RCPT is not empty"
	stop_node
}

declare -A DELIVERED=([sqlite]=0 [pg]=0) # messages accepted so far, by store
MISMATCHES=0

# deliver_run NAME C N REP sends N messages from C sessions and appends one row.
deliver_run() {
	local name=$1 c=$2 n=$3 rep=$4 before after line count
	before=$(sizes "$name")
	start_node "$name"
	line=$("$BIN/loadgen" -addr "127.0.0.1:${SUB_PORT[$name]}" -server-name localhost \
		-ca "$TLS/ca.pem" -from "$SENDER" -to "$RCPT" -n "$n" -c "$c" -size 10k -reuse \
		-auth-user "$SENDER" -auth-password-env BENCH_PASSWORD \
		-run-id "$STAMP-$name-c$c-$rep" 2>>"$OUT/loadgen-errors.log" | grep '^RESULT') || true
	echo "$line" >>"$OUT/loadgen.log"
	[ -n "$(field ok "$line")" ] ||
		die "loadgen printed no result for $name c=$c; see $OUT/loadgen-errors.log"
	count=$(inbox_count "$name")
	stop_node
	DELIVERED[$name]=$((DELIVERED[$name] + $(field ok "$line")))
	if [ "$count" != "${DELIVERED[$name]}" ]; then
		log "WARNING: the INBOX on $name holds ${count:-?} messages, not ${DELIVERED[$name]}"
		MISMATCHES=$((MISMATCHES + 1))
	fi
	after=$(sizes "$name")
	awk -v OFS='\t' -v name="$name" -v c="$c" -v rep="$rep" -v n="$n" -v ok="$(field ok "$line")" \
		-v errors="$(field errors "$line")" -v rate="$(field rate "$line")" \
		-v p50="$(field p50_ms "$line")" -v p99="$(field p99_ms "$line")" \
		-v before="$before" -v after="$after" -v count="$count" 'BEGIN {
			split(before, b, " "); split(after, a, " ")
			print name, c, rep, n, ok, errors, rate, p50, p99, \
				(ok > 0 ? sprintf("%.0f", (a[1] - b[1]) / ok) : "-"), \
				(ok > 0 ? sprintf("%.0f", (a[2] - b[2]) / ok) : "-"), \
				(ok > 0 ? sprintf("%.2f", (a[3] - b[3]) / ok) : "-"), count
		}' >>"$DELIVERY"
	log "delivery $(tail -1 "$DELIVERY")"
}

# delivery_messages C prints the messages of one run: a few seconds of work at either store.
delivery_messages() {
	local n=1000
	[ "$1" = 1 ] && n=500
	((QUICK)) && n=$((n / 10))
	echo "$n"
}

# --- 2. the big INBOX -------------------------------------------------------------------

big_run() {
	local name=$1 dsn="" dir=$WORK/big-$1
	if [ "$name" = pg ]; then
		psql_at "CREATE DATABASE bigbox" >/dev/null
		dsn="postgres://postgres@127.0.0.1:$PG_PORT/bigbox?sslmode=disable"
	fi
	write_config "$dir" "$dsn" "" "127.0.0.1:0"
	local runs=5
	((QUICK)) && runs=3
	log "big INBOX on $name: $BIG messages, $runs IMAP runs, then CPU profiles"
	"$BIN/bigmailbox" -config "$dir/cjsm.toml" -ca "$TLS/ca.pem" -messages "$BIG" -runs "$runs" \
		-label "$name" -cpuprofile-dir "$OUT/profile-$name" 2>"$dir/bigmailbox.log" |
		tee -a "$OUT/bigmailbox.log" >&2 ||
		die "bigmailbox failed on $name; see $dir/bigmailbox.log"
	local db blobs
	if [ "$name" = sqlite ]; then
		db=$(sqlite_octets "$dir/data")
	else
		db=$(psql_at "SELECT pg_database_size('bigbox')")
	fi
	blobs=$(blob_octets "$dir/data/blobs")
	echo "size store=$name messages=$BIG db_bytes=$db blob_bytes=$blobs" >>"$OUT/bigmailbox.log"
	cp "$BIN/bigmailbox" "$OUT/bigmailbox.bin"
	for p in select search; do
		go tool pprof -top -nodecount=35 "$OUT/bigmailbox.bin" "$OUT/profile-$name/$p.pprof" \
			>"$OUT/profile-$name/$p.top.txt" 2>/dev/null || true
		go tool pprof -top -cum -nodecount=50 "$OUT/bigmailbox.bin" "$OUT/profile-$name/$p.pprof" \
			>"$OUT/profile-$name/$p.cum.txt" 2>/dev/null || true
	done
}

# --- summary ---------------------------------------------------------------------------

summarise() {
	{
		echo "Local delivery, medians of $REPS run(s); 10 KB messages over STARTTLS submission"
		echo "with AUTH PLAIN, connections reused:"
		echo
		echo "| store | sessions | messages/s | p50 / p99 ms | database octets/message |" \
			"blob octets/message | blob KiB allocated/message |"
		echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
		awk -F'\t' 'NR > 1 { print $1 "\t" $2 }' "$DELIVERY" | sort -u |
			while IFS=$'\t' read -r s c; do
			awk -F'\t' -v s="$s" -v c="$c" '
			function med(col,   n, i, j, t, v) {
				n = 0
				for (i = 1; i <= rows; i++) v[++n] = val[i, col] + 0
				for (i = 2; i <= n; i++) {
					t = v[i]
					for (j = i - 1; j >= 1 && v[j] > t; j--) v[j + 1] = v[j]
					v[j + 1] = t
				}
				return (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
			}
			$1 == s && $2 == c { rows++; for (k = 1; k <= NF; k++) val[rows, k] = $k }
			END {
				printf "| %s | %s | %.0f | %.1f / %.1f | %.0f | %.0f | %.2f |\n",
					(s == "pg" ? "PostgreSQL" : "SQLite"), c, med(7), med(8), med(9), med(10),
					med(11), med(12)
			}' "$DELIVERY"
		done
		echo
		echo "Big INBOX (medians over the IMAP runs, milliseconds):"
		echo
		grep '^RESULT bigmailbox' "$OUT/bigmailbox.log" || true
		grep '^size ' "$OUT/bigmailbox.log" || true
	} >"$OUT/summary.md"
}

result_line() {
	local parts=() s c rate
	for s in sqlite pg; do
		for c in 1 10; do
			rate=$(awk -F'\t' -v s="$s" -v c="$c" '$1 == s && $2 == c { print $7 }' "$DELIVERY" |
				sort -n | awk '{ v[NR] = $1 } END {
					if (NR) print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
			parts+=("deliver_${s}_c${c}=${rate:--}")
		done
		local line
		line=$(grep "^RESULT bigmailbox store=$s " "$OUT/bigmailbox.log" || true)
		parts+=("select_fetch_ms_$s=$(field select_fetch_ms "$line")"
			"search_ms_$s=$(field search_ms "$line")")
	done
	local errors
	errors=$(awk -F'\t' 'NR > 1 { e += $6 } END { print e + 0 }' "$DELIVERY")
	echo "RESULT mailbox reps=$REPS quick=$QUICK big=$BIG errors=$errors" \
		"inbox_mismatches=$MISMATCHES ${parts[*]} elapsed_s=$(($(date +%s) - STARTED))"
}

# --- main ------------------------------------------------------------------------------

for p in "$PG_PORT" "${SUB_PORT[@]}" "${IMAPS_PORT[@]}"; do
	port_open "$p" && die "127.0.0.1:$p is in use; choose other ports with BENCH_PORT_BASE"
done
log "building cjsm and the benchmark tools"
(cd "$REPO" && go build -o "$BIN/" ./cmd/cjsm ./bench/loadgen ./bench/benchca \
	./bench/mailbox/bigmailbox)
"$BIN/benchca" -dir "$TLS" -names localhost,127.0.0.1 >/dev/null
start_pg
{
	echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "nproc: $(nproc)"
	free -h
	echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "kernel: $(uname -r)"
	echo "cpu: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | sort -u | head -1)"
	echo "go: $(go version)"
	echo "cjsm: $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
		"(plus the working tree)"
	echo "postgresql: $("$PGBIN/postgres" --version)"
	echo "sqlite: $(cd "$REPO" && go list -m -f '{{.Path}} {{.Version}}' modernc.org/sqlite)"
	echo "reps: $REPS quick: $QUICK big: $BIG"
} >"$OUT/machine.txt"
log "results go to $OUT"

for name in sqlite pg; do
	setup_delivery "$name"
done
for ((rep = 1; rep <= REPS; rep++)); do
	for c in 1 10; do
		for name in sqlite pg; do
			deliver_run "$name" "$c" "$(delivery_messages "$c")" "$rep"
		done
	done
done
for name in sqlite pg; do
	big_run "$name"
done

echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/machine.txt"
summarise
cat "$OUT/summary.md"
echo "results: $OUT"
result_line
