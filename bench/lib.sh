# Shell helpers shared by the benchmark scripts; source it after setting SCRIPT (the name used
# in error messages) and WORK (the directory whose logs wait_port points to).

die() { echo "$SCRIPT: $*" >&2; exit 1; }
log() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_port waits up to 20 s for something to listen on 127.0.0.1:$1.
wait_port() {
	local i
	for ((i = 0; i < 400; i++)); do
		port_open "$1" && return 0
		sleep 0.05
	done
	die "nothing listens on 127.0.0.1:$1 after 20 s; see the logs in $WORK"
}
