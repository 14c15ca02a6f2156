#!/usr/bin/env bash
# The registrar benchmark: server CPU time per registration under a sipp
# REGISTER load, confab against Kamailio and against the floor, on
# loopback.
#
#   benches/peers/registrar.sh [--quick] [--out FILE] [--runs N]
#                              [--count N] [--rate R] [--users N]
#
# For each run a server starts afresh (N users in its directory, password =
# user name), sipp registers COUNT times at RATE per second cycling through
# the users, and the server's CPU time (utime+stime from /proc/PID/stat,
# summed over the process and all its children, every thread counted) is
# read just before and just after. CPU per registration = difference /
# successful registrations. Digest on: REGISTER, 401, REGISTER, 200 (two
# requests per registration); digest off: REGISTER, 200. Candidate and
# peer runs alternate; the table gives medians, every run, and the ratio.
#
#   Kamailio: benches/peers/kamailio/registrar.cfg, 2 children (-n 2),
#     users in an htable loaded from db_text at start-up, usrloc in memory.
#   confab: $CONFAB (default target/release/confab) serve --directory CSV
#     (username,password,display_name with a header line). Digest off only
#     if confab serve offers --no-auth. When the binary is missing or does
#     not serve, the table says so and Kamailio is still measured.
#   floor: $SIPFLOOR (default confab-sipfloor beside $CONFAB) registrar
#     [--digest]: one thread, one recv_from and at most one send_to per
#     datagram, no parsing, no bindings kept, digests not verified. It is
#     the least any server pays here (datagrams, system calls, wake-ups):
#     a goal below it is out of reach on this kernel. Skipped with a reason
#     when the binary is missing.
#
# Output: a markdown table on stdout and, with --out, in FILE.
# Defaults: 5 runs, 20000 registrations at 1000/s over 1000 users;
# --quick: 1 run of 5000. Each sipp run is cut off after 60 s.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"

CONFAB=${CONFAB:-$root/target/release/confab}
SIPFLOOR=${SIPFLOOR:-$(dirname "$CONFAB")/confab-sipfloor}
SIPP=${SIPP:-sipp}
ADDR=127.0.0.1
PORT=${BENCH_PORT:-5080}
SIPP_PORT=${BENCH_SIPP_PORT:-5190}
DOMAIN=confab.local
CHILDREN=2

runs=5 count=20000 rate=1000 users=1000 out=
while (($#)); do
	case "$1" in
	--quick) runs=1 count=5000; shift ;;
	--out) out=${2:?}; shift 2 ;;
	--runs) runs=${2:?}; shift 2 ;;
	--count) count=${2:?}; shift 2 ;;
	--rate) rate=${2:?}; shift 2 ;;
	--users) users=${2:?}; shift 2 ;;
	-h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "unknown argument $1" >&2; exit 2 ;;
	esac
done
for n in "$runs" "$count" "$rate" "$users"; do
	[[ $n =~ ^[1-9][0-9]*$ ]] || { echo "not a positive number: $n" >&2; exit 2; }
done
require_loopback "$ADDR"

work=$(mktemp -d "${TMPDIR:-/tmp}/confab-bench-registrar.XXXXXX")
CONFAB_PID=
FLOOR_PID=
RESULT=
WHY=
cleanup() {
	kamailio_stop
	stop_pid "$CONFAB_PID"
	stop_pid "$FLOOR_PID"
	rm -rf "$work"
}
trap cleanup EXIT

users_csv "$work/users.csv" "$users"
users_inf "$work/users.inf" "$users" "$DOMAIN"
tick=$(getconf CLK_TCK)

# measure SERVER AUTH: one run; sets RESULT to
# "OK MICROSECONDS SUCCESSFUL FAILED" or "SKIP reason".
measure() {
	local server=$1 auth=$2 pid scenario stat t0 t1
	if ! bench_server_start "$server" "$work" "$ADDR" "$PORT" "$DOMAIN" registrar "$auth" "$CHILDREN"; then
		RESULT="SKIP $WHY"
		return
	fi
	pid=$SERVER_PID
	scenario=register_load.xml
	[[ $auth == on ]] || scenario=register_load_noauth.xml
	stat=$work/stat.csv
	rm -f "$stat"
	t0=$(cpu_ticks "$pid")
	(cd "$work" && timeout 70 "$SIPP" -sf "$here/sipp/$scenario" -inf "$work/users.inf" \
		-auth_uri "$DOMAIN" -r "$rate" -m "$count" -l $((rate * 2)) \
		-p "$SIPP_PORT" -mp $((SIPP_PORT * 10 % 50000 + 10000)) \
		-timeout 60s -nostdin -trace_stat -stf "$stat" -fd 60 \
		"$ADDR:$PORT" >"$work/sipp.out" 2>&1) || true
	t1=$(cpu_ticks "$pid")
	bench_server_stop "$server"
	per_transaction "$t0" "$t1" "$tick" "$stat" registration
}

declare -A values failures skipped

echo "registrar benchmark: $runs run(s) x $count registrations at $rate/s over $users users, $ADDR:$PORT" >&2
for ((i = 1; i <= runs; i++)); do
	for server in kamailio confab floor; do
		[[ -n ${skipped[$server.on]:-} ]] && continue
		measure "$server" on
		echo "  run $i $server digest on: $RESULT" >&2
		record_run "$server.on" "$RESULT"
	done
done
for ((i = 1; i <= runs; i++)); do
	for server in kamailio confab floor; do
		[[ -n ${skipped[$server.off]:-} ]] && continue
		measure "$server" off
		echo "  run $i $server digest off: $RESULT" >&2
		record_run "$server.off" "$RESULT"
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

# The goal of issue 8: confab at most a third of Kamailio's CPU.
GOAL=0.33
table() {
	local auth server key med prefix
	echo "| server | digest | CPU µs per registration (median) | every run (µs) | failed registrations |"
	echo "|---|---|---:|---|---:|"
	for auth in on off; do
		for server in kamailio confab floor; do
			key=$server.$auth
			if [[ -n ${values[$key]:-} ]]; then
				med=$(median <<<"${values[$key]}")
				echo "| $(label "$server") | $auth | $med | $(echo "${values[$key]}" | sed 's/ $//; s/ /, /g') | ${failures[$key]:-0} |"
			else
				echo "| $(label "$server") | $auth | not measured | ${skipped[$key]:-} | |"
			fi
		done
	done
	echo
	for auth in on off; do
		if [[ -n ${values[confab.$auth]:-} && -n ${values[kamailio.$auth]:-} ]]; then
			local c k r
			c=$(median <<<"${values[confab.$auth]}")
			k=$(median <<<"${values[kamailio.$auth]}")
			r=$(awk -v c="$c" -v k="$k" 'BEGIN { printf "%.2f", c / k }')
			echo "confab / Kamailio, digest $auth: $r (below 1: confab uses less CPU; goal: at most $GOAL, $(ratio_met "$(exact_ratio "$c" "$k")" "$GOAL"))"
			goal "Registrar CPU per REGISTER, digest $auth" "$c µs" "$k µs (Kamailio)" "$r" "≤ $GOAL" \
				"$(met_against_floor "$(exact_ratio "$c" "$k")" "$GOAL" "$(median <<<"${values[floor.$auth]:-}")" "$k")" \
				"$(ratio_range "${values[confab.$auth]}" "${values[kamailio.$auth]}")"
		elif [[ -z ${values[confab.$auth]:-} ]]; then
			[[ $auth == on ]] && prefix="confab" || prefix="confab, digest off"
			echo "$prefix: not measured (${skipped[confab.$auth]:-no run})"
		else
			echo "Kamailio, digest $auth: not measured (${skipped[kamailio.$auth]:-no run})"
		fi
	done
	for auth in on off; do
		if [[ -n ${values[floor.$auth]:-} && -n ${values[kamailio.$auth]:-} ]]; then
			floor_line "digest $auth" "$GOAL" "$(median <<<"${values[floor.$auth]}")" \
				"$(median <<<"${values[kamailio.$auth]}")" "$(median <<<"${values[confab.$auth]:-}")"
		else
			echo "floor, digest $auth: not measured (${skipped[floor.$auth]:-${skipped[kamailio.$auth]:-no run}})"
		fi
	done
	echo
	echo "$runs run(s) per row, alternating servers; each run: a fresh server, $count registrations at $rate/s over $users users by sipp on the same host; CPU = utime+stime of the server and its children ($tick ticks/s) during the sipp run. Digest on: REGISTER, 401, REGISTER, 200 (MD5, qop=auth). The floor (src/bin/confab-sipfloor, registrar mode) answers from one thread with one recv_from and one send_to per datagram on a blocking socket: it copies the Via, From, To, Call-ID, CSeq, Contact and Expires lines into a 200 (or a fixed 401 to a REGISTER without Authorization), keeps no binding and does NOT verify the digest; what it pays is what every server pays for the same datagrams on this kernel."
}

table | tee "${out:-/dev/null}"
