#!/usr/bin/env bash
# The proxy benchmark: server CPU time per proxied MESSAGE and per proxied
# call under sipp load, confab against Kamailio as a stateful proxy and
# against the floor, on loopback.
#
#   benches/peers/proxy.sh [--quick | --instructions] [--out FILE] [--runs N]
#                          [--messages N] [--message-rate R]
#                          [--calls N] [--call-rate R]
#
# Set-up of each run: a server starts afresh with three users in its
# directory (user0000..user0002, password = user name). Two sipp UAS
# processes, each on a loopback port of its own, register as user0001 and
# user0002 from that port (sipp/proxy_uas.xml; the port is also their
# Contact: Kamailio sends to the Contact, confab to where the REGISTER
# came from) and answer what the proxy forwards to them in an out-of-call
# scenario: MESSAGE with 200 (sipp/proxy_message_uas.xml), INVITE with
# 180, 200 and SDP, then ACK and BYE (sipp/proxy_invite_uas.xml). Then a
# sipp UAC, user0000, sends the load through the proxy at a fixed rate,
# and the server's CPU time (utime+stime from /proc/PID/stat, the process
# and all its children, every thread) is read just before and just after:
#
#   MESSAGE: each transaction is one MESSAGE to user0001 and its 200
#     (sipp/proxy_message_uac.xml); digest on: MESSAGE, 407, MESSAGE with
#     Proxy-Authorization, 200.
#   call: each transaction is one whole call to user0002
#     (sipp/proxy_invite_uac.xml): INVITE, 100, 180, 200, ACK, BYE, 200,
#     the ACK and BYE loose-routed through the proxy, which record-routes;
#     digest on: INVITE, 407, ACK, then the INVITE with credentials. One
#     call = INVITE + ACK + BYE (+ the challenged INVITE and its ACK).
#
# CPU per transaction = difference / transactions sipp completed. Each
# (server, digest, load) measurement has a fresh server; candidate and
# peer runs alternate; the table gives medians, every run and the ratio.
#
#   Kamailio: benches/peers/kamailio/proxy.cfg (tm, sl, rr, registrar and
#     usrloc in memory, auth against an htable loaded from db_text), 2
#     children (-n 2).
#   confab: $CONFAB (default target/release/confab) serve --directory CSV;
#     digest off with --no-auth, only if confab serve offers it. When the
#     binary is missing or does not serve, the table says so and Kamailio
#     is still measured.
#   floor: $SIPFLOOR (default confab-sipfloor beside $CONFAB) proxy
#     [--digest]: one thread, one recv_from and at most one send_to per
#     datagram, no parsing beyond the Request-URI's user or address and
#     the To tag, digests not verified, no Via, Record-Route or 100
#     Trying added. It is the least any proxy pays here (datagrams, system
#     calls, wake-ups): a goal below it is out of reach on this kernel.
#     Skipped with a reason when the binary is missing.
#
# Output: a markdown table on stdout and, with --out, in FILE.
# Defaults: 5 runs; 5000 MESSAGEs at 500/s; 2000 calls at 200/s. --quick:
# 1 run of 2000 MESSAGEs and 1000 calls. Every sipp run is cut off after
# 60 s, every server start after 10 s.
#
# --instructions: for comparing two builds of confab, where CPU time's
# run-to-run noise on a shared machine (a fifth) hides a change of a few
# percent. confab alone runs under valgrind's callgrind, counting only
# while the load runs, and each row is the instructions the whole process
# executed per transaction (every thread, malloc and the log included;
# two runs of one build agree within about 2%). 1 run of 1000 MESSAGEs at
# 100/s and 300 calls at 30/s, which callgrind keeps up with. Not a
# measure of time: cache misses and system calls do not count, and code
# that picks CPU features at run time (SHA-256) takes its plain path.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
# lib.sh starts Kamailio with this configuration.
export KAMAILIO_CFG=$here/kamailio/proxy.cfg
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"

CONFAB=${CONFAB:-$root/target/release/confab}
SIPFLOOR=${SIPFLOOR:-$(dirname "$CONFAB")/confab-sipfloor}
SIPP=${SIPP:-sipp}
ADDR=127.0.0.1
PORT=${BENCH_PORT:-5080}
# The UAC and the two UAS listen from here up.
SIPP_PORT=${BENCH_SIPP_PORT:-5190}
DOMAIN=confab.local
CHILDREN=2
# Who is who in the directory.
CALLER=user0000
MESSAGE_CALLEE=user0001
CALL_CALLEE=user0002

runs=5 messages=5000 message_rate=500 calls=2000 call_rate=200 out=
servers="kamailio confab floor" instructions=
while (($#)); do
	case "$1" in
	--quick) runs=1 messages=2000 calls=1000; shift ;;
	--instructions)
		instructions=yes servers=confab
		runs=1 messages=1000 message_rate=100 calls=300 call_rate=30
		shift
		;;
	--out) out=${2:?}; shift 2 ;;
	--runs) runs=${2:?}; shift 2 ;;
	--messages) messages=${2:?}; shift 2 ;;
	--message-rate) message_rate=${2:?}; shift 2 ;;
	--calls) calls=${2:?}; shift 2 ;;
	--call-rate) call_rate=${2:?}; shift 2 ;;
	-h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "unknown argument $1" >&2; exit 2 ;;
	esac
done
for n in "$runs" "$messages" "$message_rate" "$calls" "$call_rate"; do
	[[ $n =~ ^[1-9][0-9]*$ ]] || { echo "not a positive number: $n" >&2; exit 2; }
done
require_loopback "$ADDR"
if [[ -n $instructions ]]; then
	if ! command -v valgrind >/dev/null || ! command -v callgrind_control >/dev/null; then
		echo "--instructions needs valgrind (apt-get install valgrind)" >&2
		exit 2
	fi
fi

uac_port=$SIPP_PORT
message_uas_port=$((SIPP_PORT + 1))
call_uas_port=$((SIPP_PORT + 2))
# sipp opens media ports too, unused here: one range per instance.
media_port() { echo $((($1 * 10) % 50000 + 10000)); }

work=$(mktemp -d "${TMPDIR:-/tmp}/confab-bench-proxy.XXXXXX")
if [[ -n $instructions ]]; then
	# Counting starts switched off: start-up and registration are not the load.
	CONFAB_WRAP=(valgrind --tool=callgrind --instr-atstart=no "--callgrind-out-file=$work/callgrind.%p")
fi
CONFAB_PID=
FLOOR_PID=
UAS_PIDS=()
RESULT=
WHY=
stop_uas() {
	local pid
	for pid in "${UAS_PIDS[@]}"; do
		stop_pid "$pid"
	done
	UAS_PIDS=()
}
cleanup() {
	stop_uas
	kamailio_stop
	stop_pid "$CONFAB_PID"
	stop_pid "$FLOOR_PID"
	rm -rf "$work"
}
trap cleanup EXIT

users_csv "$work/users.csv" 3
# One injection file per role, each naming its one user.
for user in "$CALLER" "$MESSAGE_CALLEE" "$CALL_CALLEE"; do
	printf 'SEQUENTIAL\n%s;%s;%s\n' "$user" "$user" "$DOMAIN" >"$work/$user.inf"
done
tick=$(getconf CLK_TCK)

# uas_start USER PORT OOC_SCENARIO: a sipp UAS on PORT, registered as
# USER, answering with OOC_SCENARIO until stopped; true once registered
# (within 10 s).
uas_start() {
	local user=$1 port=$2 ooc=$3 log i
	log=$work/uas-$port.log
	rm -f "$log"
	(cd "$work" && exec timeout 300 "$SIPP" -sf "$here/sipp/proxy_uas.xml" \
		-oocsf "$here/sipp/$ooc" -inf "$work/$user.inf" -auth_uri "$DOMAIN" \
		-i "$ADDR" -p "$port" -mp "$(media_port "$port")" -m 1 -nostdin \
		-trace_logs -log_file "$log" "$ADDR:$PORT" >/dev/null 2>&1) &
	UAS_PIDS+=("$!")
	for ((i = 0; i < 100; i++)); do
		grep -q '^registered' "$log" 2>/dev/null && return 0
		kill -0 "${UAS_PIDS[-1]}" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# measure SERVER AUTH LOAD: one run; sets RESULT to
# "OK MICROSECONDS SUCCESSFUL FAILED" or "SKIP reason".
measure() {
	local server=$1 auth=$2 load=$3 pid scenario callee rate count stat t0 t1
	local -a uas
	if ! bench_server_start "$server" "$work" "$ADDR" "$PORT" "$DOMAIN" proxy "$auth" "$CHILDREN"; then
		RESULT="SKIP $WHY"
		return
	fi
	pid=$SERVER_PID
	stop_server() {
		stop_uas
		bench_server_stop "$server"
	}

	if [[ $load == message ]]; then
		scenario=proxy_message_uac.xml callee=$MESSAGE_CALLEE rate=$message_rate count=$messages
		uas=(proxy_message_uas.xml "$message_uas_port")
	else
		scenario=proxy_invite_uac.xml callee=$CALL_CALLEE rate=$call_rate count=$calls
		uas=(proxy_invite_uas.xml "$call_uas_port")
	fi
	if ! uas_start "$callee" "${uas[1]}" "${uas[0]}"; then
		stop_server
		RESULT="SKIP the sipp UAS could not register as $callee"
		return
	fi

	stat=$work/stat.csv
	rm -f "$stat"
	[[ -z $instructions ]] || callgrind_control --instr=on "$pid" >/dev/null
	t0=$(cpu_ticks "$pid")
	(cd "$work" && timeout 70 "$SIPP" -sf "$here/sipp/$scenario" -inf "$work/$CALLER.inf" \
		-key callee "$callee" -auth_uri "$callee@$DOMAIN" \
		-r "$rate" -m "$count" -l $((rate * 2)) \
		-i "$ADDR" -p "$uac_port" -mp "$(media_port "$uac_port")" \
		-timeout 60s -nostdin -trace_stat -stf "$stat" -fd 60 \
		"$ADDR:$PORT" >"$work/sipp.out" 2>&1) || true
	t1=$(cpu_ticks "$pid")
	if [[ -n $instructions ]]; then
		callgrind_control --instr=off "$pid" >/dev/null
		# callgrind writes its totals as the server exits.
		stop_server
		t1=$(sed -n 's/^totals: //p' "$work/callgrind.$pid")
		if [[ ! ${t1:-0} =~ ^[1-9][0-9]*$ ]]; then
			RESULT="SKIP callgrind counted no instructions"
			return
		fi
		per_transaction 0 "$t1" 1000000 "$stat" "$load transaction"
		return
	fi
	stop_server
	per_transaction "$t0" "$t1" "$tick" "$stat" "$load transaction"
}

declare -A values failures skipped

echo "proxy benchmark: $runs run(s); $messages MESSAGEs at $message_rate/s, $calls calls at $call_rate/s; $ADDR:$PORT" >&2
for auth in on off; do
	for load in message call; do
		for ((i = 1; i <= runs; i++)); do
			for server in $servers; do
				key=$server.$auth.$load
				[[ -n ${skipped[$key]:-} ]] && continue
				measure "$server" "$auth" "$load"
				echo "  run $i $server digest $auth $load: $RESULT" >&2
				record_run "$key" "$RESULT"
			done
		done
	done
done

kamailio_version=$("$KAMAILIO" -v 2>/dev/null | sed -n 's/^version: kamailio \([^ ]*\).*/\1/p' | head -n 1)
confab_version=$("$CONFAB" --version 2>/dev/null | head -n 1 || true)
label() {
	case $1 in
	kamailio) echo "Kamailio ${kamailio_version:-?} ($CHILDREN children)" ;;
	floor) echo "floor (one recv and one send per datagram, no parsing)" ;;
	*) echo "${confab_version:-confab}" ;;
	esac
}
load_label() {
	if [[ $1 == message ]]; then echo "MESSAGE"; else echo "call (INVITE + ACK + BYE)"; fi
}

# The goal of issue 8: confab at most half of Kamailio's CPU.
GOAL=0.5
table() {
	local auth load server key med
	echo "| server | digest | transaction | CPU µs per transaction (median) | every run (µs) | failed transactions |"
	echo "|---|---|---|---:|---|---:|"
	for auth in on off; do
		for load in message call; do
			for server in kamailio confab floor; do
				key=$server.$auth.$load
				if [[ -n ${values[$key]:-} ]]; then
					med=$(median <<<"${values[$key]}")
					echo "| $(label "$server") | $auth | $(load_label "$load") | $med | $(echo "${values[$key]}" | sed 's/ $//; s/ /, /g') | ${failures[$key]:-0} |"
				else
					echo "| $(label "$server") | $auth | $(load_label "$load") | not measured | ${skipped[$key]:-} | |"
				fi
			done
		done
	done
	echo
	for auth in on off; do
		for load in message call; do
			if [[ -n ${values[confab.$auth.$load]:-} && -n ${values[kamailio.$auth.$load]:-} ]]; then
				local c k r
				c=$(median <<<"${values[confab.$auth.$load]}")
				k=$(median <<<"${values[kamailio.$auth.$load]}")
				r=$(awk -v c="$c" -v k="$k" 'BEGIN { printf "%.2f", c / k }')
				echo "confab / Kamailio, $(load_label "$load"), digest $auth: $r (goal: at most $GOAL; $(ratio_met "$(exact_ratio "$c" "$k")" "$GOAL"))"
				goal "Proxy CPU per $(load_label "$load"), digest $auth" "$c µs" "$k µs (Kamailio)" "$r" "≤ $GOAL" \
					"$(met_against_floor "$(exact_ratio "$c" "$k")" "$GOAL" "$(median <<<"${values[floor.$auth.$load]:-}")" "$k")" \
					"$(ratio_range "${values[confab.$auth.$load]}" "${values[kamailio.$auth.$load]}")"
			elif [[ -z ${values[confab.$auth.$load]:-} ]]; then
				echo "confab, $(load_label "$load"), digest $auth: not measured (${skipped[confab.$auth.$load]:-no run})"
			else
				echo "Kamailio, $(load_label "$load"), digest $auth: not measured (${skipped[kamailio.$auth.$load]:-no run})"
			fi
		done
	done
	for auth in on off; do
		for load in message call; do
			if [[ -n ${values[floor.$auth.$load]:-} && -n ${values[kamailio.$auth.$load]:-} ]]; then
				floor_line "$(load_label "$load"), digest $auth" "$GOAL" \
					"$(median <<<"${values[floor.$auth.$load]}")" \
					"$(median <<<"${values[kamailio.$auth.$load]}")" \
					"$(median <<<"${values[confab.$auth.$load]:-}")"
			else
				echo "floor, $(load_label "$load"), digest $auth: not measured (${skipped[floor.$auth.$load]:-${skipped[kamailio.$auth.$load]:-no run}})"
			fi
		done
	done
	echo
	echo "$runs run(s) per row, alternating servers; each run: a fresh server with two sipp UAS registered as users (their Contacts on their own ports), then a sipp UAC sending $messages MESSAGEs at $message_rate/s or $calls calls at $call_rate/s through it on the same host; CPU = utime+stime of the server and its children ($tick ticks/s) during the load, divided by the transactions sipp completed. A call counts as one transaction: INVITE, 100, 180, 200, ACK and BYE, 200, record-routed. Digest on: the first request of each MESSAGE or call is challenged (407, MD5, qop=auth) and sent again with credentials; in-dialog ACK and BYE are not challenged by any server. The floor (src/bin/confab-sipfloor, proxy mode) serves from one thread with one recv_from and at most one send_to per datagram on a blocking socket: it keeps where each UAS registered from, forwards each request unchanged to the UAS named by its Request-URI (user, or the Contact's address for ACK and BYE) and each UAS response unchanged to the caller, challenges a new MESSAGE or INVITE without Proxy-Authorization with a fixed 407 (and absorbs the ACK to it) but does NOT verify the credentials, and adds no Via, no Record-Route and no 100 Trying; what it pays is what every proxy pays for the same datagrams on this kernel."
}

# whole: the numbers of a line rounded, comma-separated.
whole() { awk '{ for (i = 1; i <= NF; i++) printf "%s%.0f", (i > 1 ? ", " : ""), $i; print "" }'; }

# --instructions: confab's counts alone.
instruction_table() {
	local auth load key
	echo "| digest | transaction | instructions per transaction (median) | every run |"
	echo "|---|---|---:|---|"
	for auth in on off; do
		for load in message call; do
			key=confab.$auth.$load
			if [[ -n ${values[$key]:-} ]]; then
				echo "| $auth | $(load_label "$load") | $(median <<<"${values[$key]}" | whole) | $(whole <<<"${values[$key]}") |"
			else
				echo "| $auth | $(load_label "$load") | not measured | ${skipped[$key]:-} |"
			fi
		done
	done
	echo
	echo "$(label confab) under callgrind, $runs run(s); $messages MESSAGEs at $message_rate/s, $calls calls at $call_rate/s; instructions of every thread while the load ran, divided by the transactions sipp completed."
}

if [[ -n $instructions ]]; then
	instruction_table | tee "${out:-/dev/null}"
else
	table | tee "${out:-/dev/null}"
fi
