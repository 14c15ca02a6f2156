# shellcheck shell=bash
# Helpers shared by the peer benchmarks (benches/peers) and the sipp test
# runner (tests/sipp/run.sh): a user directory in the formats each server
# reads, Kamailio started and stopped on loopback, CPU time of a process
# tree, and waiting for a SIP port to answer.
#
# Sourced, not run. Every function is bounded in time.

PEERS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KAMAILIO_CFG=${KAMAILIO_CFG:-$PEERS_DIR/kamailio/registrar.cfg}
KAMAILIO=${KAMAILIO:-kamailio}
# A command confab_serve_start puts before confab (proxy.sh --instructions).
CONFAB_WRAP=()

# Refuses anything but an IPv4 or IPv6 loopback address: these scripts
# flood a port with traffic and must never aim it at another host.
require_loopback() {
	case "$1" in
	127.*|::1|\[::1\]) ;;
	*)
		echo "refusing non-loopback address: $1" >&2
		return 1
		;;
	esac
}

# users_csv FILE COUNT: the directory confab serve --directory reads, a CSV
# with a header line and one user per line, password = user name:
#   username,password,display_name
#   user0000,user0000,User 0000
users_csv() {
	local file=$1 count=$2 i
	{
		echo "username,password,display_name"
		for ((i = 0; i < count; i++)); do
			printf 'user%04d,user%04d,User %04d\n' "$i" "$i" "$i"
		done
	} >"$file"
}

# users_inf FILE COUNT DOMAIN: the same users as a sipp injection file
# (user;password;domain), read in sequence.
users_inf() {
	local file=$1 count=$2 domain=$3 i
	{
		echo "SEQUENTIAL"
		for ((i = 0; i < count; i++)); do
			printf 'user%04d;user%04d;%s\n' "$i" "$i" "$domain"
		done
	} >"$file"
}

# kamailio_directory CSV DBDIR: the users of a confab CSV directory (header
# line, username,password,...) as a db_text table DBDIR/subscriber, which
# registrar.cfg loads into an htable at start-up.
kamailio_directory() {
	local csv=$1 dbdir=$2
	mkdir -p "$dbdir"
	{
		echo "username(str) password(str)"
		# db_text separates columns with ':' and escapes it with '\'.
		tail -n +2 "$csv" | awk -F, 'NF >= 2 {
			gsub(/\\/, "\\\\", $1); gsub(/:/, "\\:", $1)
			gsub(/\\/, "\\\\", $2); gsub(/:/, "\\:", $2)
			print $1 ":" $2 }'
	} >"$dbdir/subscriber"
	# db_text reads a table's version from a "version" table.
	printf 'table_name(str) table_version(int)\nsubscriber:7\n' >"$dbdir/version"
}

# kamailio_start WORKDIR ADDR PORT AUTH CHILDREN: starts Kamailio with
# registrar.cfg on udp+tcp ADDR:PORT, in the foreground of a background job
# (-DD keeps the creator process, so $! is the main process), logging to
# WORKDIR/kamailio.log. AUTH is "on" (WORKDIR/db must hold the directory,
# see kamailio_directory) or "off". Sets KAMAILIO_PID. Waits until the port
# answers OPTIONS, at most 10 s.
kamailio_start() {
	local workdir=$1 addr=$2 port=$3 auth=$4 children=$5
	local -a args
	require_loopback "$addr" || return 1
	mkdir -p "$workdir/run"
	args=(-f "$KAMAILIO_CFG" -DD -E -n "$children"
		-l "udp:$addr:$port" -l "tcp:$addr:$port"
		-Y "$workdir/run" -P "$workdir/run/kamailio.pid" -m 128)
	if [[ $auth == on ]]; then
		args+=(-A WITH_AUTH -A "USERS_DB_URL=\"text://$workdir/db\"")
	fi
	if ! require_sip_port_free "$addr" "$port"; then
		echo "$WHY" >&2
		return 1
	fi
	"$KAMAILIO" "${args[@]}" >"$workdir/kamailio.log" 2>&1 &
	KAMAILIO_PID=$!
	if ! wait_for_sip "$addr" "$port" 10; then
		echo "kamailio did not come up; its log:" >&2
		tail -n 20 "$workdir/kamailio.log" >&2
		kamailio_stop
		return 1
	fi
}

# Kamailio's main process stops its children on SIGTERM, but a child can
# outlive it (orphaned, ignoring SIGTERM) and keep the port: each process
# of the tree, noted before, is killed if still there after 2 s.
kamailio_stop() {
	local pid i
	local -a tree
	[[ -n ${KAMAILIO_PID:-} ]] || return 0
	mapfile -t tree < <(descendants "$KAMAILIO_PID")
	stop_pid "$KAMAILIO_PID"
	KAMAILIO_PID=
	for pid in "${tree[@]}"; do
		for ((i = 0; i < 20; i++)); do
			kill -0 "$pid" 2>/dev/null || continue 2
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
	done
}

# stop_pid PID: SIGTERM, then SIGKILL after 5 s; reaps it if it is our child.
stop_pid() {
	local pid=$1 i
	[[ -n $pid ]] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# descendants PID: PID and every process below it, one per line.
descendants() {
	local pid=$1 child
	echo "$pid"
	for child in $(ps -o pid= --ppid "$pid" 2>/dev/null); do
		descendants "$child"
	done
}

# cpu_ticks PID: utime+stime, in clock ticks, of PID and all its living
# descendants (fields 14 and 15 of /proc/PID/stat, counting every thread).
# The comm field may hold spaces, so fields are counted after its ')'.
cpu_ticks() {
	local pid total=0 stat rest
	local -a f
	for pid in $(descendants "$1"); do
		stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
		rest=${stat##*) }
		read -r -a f <<<"$rest"
		# rest starts at field 3 (state): utime is f[11], stime f[12].
		total=$((total + f[11] + f[12]))
	done
	echo "$total"
}

# wait_for_sip ADDR PORT SECONDS: true once an OPTIONS to the server is
# answered (any response) over UDP.
wait_for_sip() {
	local addr=$1 port=$2 secs=$3
	python3 - "$addr" "$port" "$secs" <<'PY'
import socket, sys, time
addr, port, secs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
deadline = time.monotonic() + secs
fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
n = 0
while time.monotonic() < deadline:
    n += 1
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.bind((addr, 0))
    lport = s.getsockname()[1]
    host = f"[{addr}]" if fam == socket.AF_INET6 else addr
    msg = (f"OPTIONS sip:{host}:{port} SIP/2.0\r\n"
           f"Via: SIP/2.0/UDP {host}:{lport};branch=z9hG4bK-probe-{n}\r\n"
           "Max-Forwards: 70\r\n"
           f"From: <sip:probe@{host}>;tag=probe{n}\r\n"
           f"To: <sip:{host}:{port}>\r\n"
           f"Call-ID: probe-{n}-{lport}\r\n"
           "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")
    s.settimeout(0.2)
    try:
        s.sendto(msg.encode(), (addr, port))
        data = s.recv(65535)
        if data.startswith(b"SIP/2.0 "):
            sys.exit(0)
    except OSError:
        time.sleep(0.1)
    finally:
        s.close()
sys.exit(1)
PY
}

# require_sip_port_free ADDR PORT: false, with the reason in WHY, when
# something already answers OPTIONS on ADDR:PORT. A server left running by
# an earlier run would answer for the one being started, which then fails
# to bind and exits: the load would go to the old one and the new one
# would be measured at no CPU.
# shellcheck disable=SC2034 # WHY is the caller's
require_sip_port_free() {
	wait_for_sip "$1" "$2" 0.2 || return 0
	WHY="something already answers SIP on $1:$2 (a server left running?)"
	return 1
}

# goal WHAT CONFAB PEER RATIO GOAL MET [NOISE]: one row of the summary
# table at the top of docs/BENCHMARKS.md, appended to the file
# BENCH_SUMMARY names (benches/peers/run sets it; run alone, a script
# writes none). NOISE says how far the runs behind the row spread
# (ratio_range's text, or a confidence interval).
goal() {
	[[ -n ${BENCH_SUMMARY:-} ]] || return 0
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$6" "${7:-}" >>"$BENCH_SUMMARY"
}

# ratio_range "C1 C2 ..." "P1 P2 ..." [PLACES]: the ratios the runs allow,
# from confab's lowest run over the peer's highest to confab's highest over
# the peer's lowest, to PLACES decimals (default 2): the noise a rerun's
# ratio is to be read against. Each side's runs move with the machine, and
# not always together, so no run is paired with the one beside it. Nothing
# when either side has no run (or the peer's lowest is 0).
ratio_range() {
	awk -v c="$1" -v p="$2" -v d="${3:-2}" 'BEGIN {
		nc = split(c, cv, " "); np = split(p, pv, " ")
		if (nc == 0 || np == 0) exit
		for (i = 1; i <= nc; i++) {
			if (i == 1 || cv[i] + 0 < cmin) cmin = cv[i] + 0
			if (i == 1 || cv[i] + 0 > cmax) cmax = cv[i] + 0
		}
		for (i = 1; i <= np; i++) {
			if (i == 1 || pv[i] + 0 < pmin) pmin = pv[i] + 0
			if (i == 1 || pv[i] + 0 > pmax) pmax = pv[i] + 0
		}
		if (pmin == 0) exit
		printf "%.*f – %.*f (%d and %d runs)\n", d, cmin / pmax, d, cmax / pmin, nc, np
	}'
}

# exact_ratio A B: A / B to six decimals. Verdicts take this, not the two
# or three decimals a table prints: 0.504 is not "at most 0.5" because it
# prints as 0.50.
exact_ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f", a / b }'
}

# ratio_met RATIO LIMIT: "met" when RATIO <= LIMIT, "NOT met" when above,
# "not measured" when RATIO is not a number.
ratio_met() {
	awk -v r="$1" -v l="$2" 'BEGIN {
		if (r !~ /^[0-9.]+(e[-+]?[0-9]+)?$/) print "not measured";
		else print (r + 0 <= l + 0) ? "met" : "NOT met" }'
}

# median < "V1 V2 ...": the median of the numbers read, the mean of the
# middle two (to one decimal) when their count is even; nothing when there
# are none. median_places N: the same to N decimals.
median() { median_places 1; }
median_places() {
	tr ' ' '\n' | grep . | sort -g | awk -v d="$1" '{ v[NR] = $1 }
		END { if (NR == 0) exit; if (NR % 2) print v[(NR + 1) / 2];
		      else printf "%.*f\n", d, (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# stat_counts FILE: "SUCCESSFUL FAILED" from the last line of a sipp
# -trace_stat file (columns found by name).
stat_counts() {
	[[ -s $1 ]] || { echo "0 0"; return; }
	awk -F';' 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
		{ ok = $col["SuccessfulCall(C)"]; failed = $col["FailedCall(C)"] }
		END { print ok + 0, failed + 0 }' "$1"
}

# spawn_sip_server LOG ADDR PORT NAME COMMAND...: COMMAND in the background
# (no stdin, output to LOG); true once it answers OPTIONS on ADDR:PORT
# within 10 s. Sets SPAWNED_PID; when it does not answer, stops it and
# sets WHY, naming it NAME.
# shellcheck disable=SC2034 # WHY is the caller's
spawn_sip_server() {
	local log=$1 addr=$2 port=$3 name=$4
	shift 4
	require_sip_port_free "$addr" "$port" || return 1
	"$@" </dev/null >"$log" 2>&1 &
	SPAWNED_PID=$!
	wait_for_sip "$addr" "$port" 10 && return 0
	stop_pid "$SPAWNED_PID"
	SPAWNED_PID=
	WHY="$name did not answer OPTIONS within 10 s: $(tail -n 1 "$log" | cut -c1-100)"
	return 1
}

# confab_serve_start WORK ADDR PORT DOMAIN AUTH: `$CONFAB serve` on ADDR:PORT for
# DOMAIN with the users of WORK/users.csv, digest on or (AUTH off)
# --no-auth, its data and log in a new directory under WORK; true once it
# answers OPTIONS. Sets CONFAB_PID, or WHY when it fails.
# shellcheck disable=SC2034 # WHY is the caller's
confab_serve_start() {
	local work=$1 addr=$2 port=$3 domain=$4 auth=$5 dir
	local -a args
	if [[ ! -x $CONFAB ]]; then
		WHY="binary $CONFAB not found"
		return 1
	fi
	if [[ $auth == off ]] && ! "$CONFAB" serve --help 2>/dev/null | grep -q -- '--no-auth'; then
		WHY="confab serve has no --no-auth"
		return 1
	fi
	dir=$(mktemp -d "$work/confab.XXXXXX")
	args=(serve --listen "$addr:$port" --domain "$domain" --data "$dir/data"
		--directory "$work/users.csv")
	[[ $auth == on ]] || args+=(--no-auth)
	spawn_sip_server "$dir/serve.log" "$addr" "$port" "confab serve" \
		"${CONFAB_WRAP[@]}" "$CONFAB" "${args[@]}" || return 1
	CONFAB_PID=$SPAWNED_PID
}

# sipfloor_start WORK ADDR PORT MODE AUTH: `$SIPFLOOR MODE` (registrar or
# proxy, the floor server of src/bin/confab-sipfloor) on ADDR:PORT, with
# --digest when AUTH is on, logging to WORK/sipfloor.log; true once it
# answers OPTIONS. Sets FLOOR_PID, or WHY when it fails.
# shellcheck disable=SC2034 # WHY is the caller's
sipfloor_start() {
	local work=$1 addr=$2 port=$3 mode=$4 auth=$5
	local -a args=("$mode" --listen "$addr:$port")
	if ! require_loopback "$addr" 2>/dev/null; then
		WHY="not a loopback address: $addr"
		return 1
	fi
	if [[ ! -x ${SIPFLOOR:-} ]]; then
		WHY="binary ${SIPFLOOR:-confab-sipfloor} not found (cargo build --release builds it)"
		return 1
	fi
	[[ $auth == on ]] && args+=(--digest)
	spawn_sip_server "$work/sipfloor.log" "$addr" "$port" confab-sipfloor \
		timeout 600 "$SIPFLOOR" "${args[@]}" || return 1
	FLOOR_PID=$SPAWNED_PID
}

# met_against_floor RATIO GOAL FLOOR KAMAILIO: ratio_met's verdict, and
# where the goal lies against the floor server measured in the same runs
# (FLOOR empty: not measured), for the summary table.
met_against_floor() {
	local verdict
	verdict=$(ratio_met "$1" "$2")
	if [[ -z ${3:-} || -z ${4:-} ]]; then
		echo "$verdict"
		return
	fi
	awk -v v="$verdict" -v g="$2" -v f="$3" -v k="$4" 'BEGIN {
		r = f / k
		if (r > g) printf "%s; the floor alone is %.2f of Kamailio: out of reach on this kernel\n", v, r
		else printf "%s (floor %.2f of Kamailio)\n", v, r }'
}

# floor_line WHAT GOAL FLOOR PEER [CONFAB]: the line under a table that
# compares the floor server with the peer (medians in µs): FLOOR / PEER,
# and whether the goal (at most GOAL times the peer) lies below the floor,
# which no server on this kernel can go under, or else how much it leaves
# for everything a server does beyond the datagrams; with CONFAB, how far
# confab is above the floor.
floor_line() {
	awk -v what="$1" -v g="$2" -v f="$3" -v k="$4" -v c="${5:-}" 'BEGIN {
		r = f / k
		printf "floor / Kamailio, %s: %.2f; the goal, at most %.2f of Kamailio (%.1f µs), is ", what, r, g, g * k
		if (r > g) printf "BELOW the floor (%.1f µs): no server can meet it on this kernel", f
		else printf "above the floor (%.1f µs), leaving %.1f µs for all the SIP work", f, g * k - f
		if (c != "") printf "; confab / floor: %.2f (confab spends %.1f µs above the floor)", c / f, c - f
		printf "\n" }'
}

# bench_server_start SERVER WORK ADDR PORT DOMAIN MODE AUTH CHILDREN: a fresh
# server for the registrar and proxy benchmarks on ADDR:PORT: Kamailio
# (its configuration from KAMAILIO_CFG, CHILDREN workers, the users of
# WORK/users.csv when AUTH is on), the floor in MODE (registrar or proxy)
# or confab serve; digest AUTH (on or off). Sets SERVER_PID, or WHY.
# shellcheck disable=SC2034 # WHY is the caller's
bench_server_start() {
	local server=$1 work=$2 addr=$3 port=$4 domain=$5 mode=$6 auth=$7 children=$8
	case $server in
	kamailio)
		[[ $auth == on ]] && kamailio_directory "$work/users.csv" "$work/kamailio/db"
		if ! kamailio_start "$work/kamailio" "$addr" "$port" "$auth" "$children" >/dev/null 2>"$work/kamailio.err"; then
			WHY="kamailio did not start: $(tail -n 1 "$work/kamailio.err" | cut -c1-100)"
			return 1
		fi
		SERVER_PID=$KAMAILIO_PID
		;;
	floor)
		sipfloor_start "$work" "$addr" "$port" "$mode" "$auth" || return 1
		SERVER_PID=$FLOOR_PID
		;;
	*)
		confab_serve_start "$work" "$addr" "$port" "$domain" "$auth" || return 1
		SERVER_PID=$CONFAB_PID
		;;
	esac
}

# bench_server_stop SERVER: stops what bench_server_start started.
bench_server_stop() {
	case $1 in
	kamailio) kamailio_stop ;;
	floor) stop_pid "$FLOOR_PID"; FLOOR_PID= ;;
	*) stop_pid "$CONFAB_PID"; CONFAB_PID= ;;
	esac
}

# per_transaction T0 T1 TICK STAT WHAT: RESULT for one sipp run, "OK
# MICROSECONDS SUCCESSFUL FAILED" (CPU ticks T0 to T1, TICK a second,
# over the transactions the -trace_stat file STAT counts as successful),
# or "SKIP no successful WHAT".
# shellcheck disable=SC2034 # RESULT is the caller's
per_transaction() {
	local t0=$1 t1=$2 tick=$3 stat=$4 what=$5 ok failed
	read -r ok failed < <(stat_counts "$stat")
	if ((ok == 0)); then
		RESULT="SKIP no successful $what ($failed failed)"
		return
	fi
	RESULT="OK $(awk -v d=$((t1 - t0)) -v t="$tick" -v n="$ok" 'BEGIN { printf "%.1f", d * 1e6 / t / n }') $ok $failed"
}

# record_run KEY RESULT-LINE: a run's result into the caller's associative
# arrays values (the figures, space-separated), failures (summed) and
# skipped (the reason).
# shellcheck disable=SC2004,SC2034 # the caller's associative arrays
record_run() {
	local key=$1 status us ok failed
	read -r status us ok failed <<<"$2"
	if [[ $status == OK ]]; then
		values[$key]+="$us "
		failures[$key]=$((${failures[$key]:-0} + failed))
	else
		skipped[$key]=${2#SKIP }
	fi
}

# free_ports COUNT ADDR...: a port P such that P .. P+COUNT-1 are all free
# on UDP and TCP at every ADDR (baresip also listens for TLS on its SIP
# port + 1).
free_ports() {
	python3 - "$@" <<'PY'
import socket, sys
count, addrs = int(sys.argv[1]), sys.argv[2:]
for _ in range(200):
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind((addrs[0], 0))
    base = probe.getsockname()[1]
    probe.close()
    if base + count > 65535:
        continue
    held = []
    try:
        for addr in addrs:
            for port in range(base, base + count):
                for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                    s = socket.socket(socket.AF_INET, kind)
                    held.append(s)
                    s.bind((addr, port))
    except OSError:
        continue
    finally:
        for s in held:
            s.close()
    print(base)
    sys.exit(0)
sys.exit(1)
PY
}
