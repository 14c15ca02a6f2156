#!/usr/bin/env bash
# Runs the sipp scenarios of this directory against a SIP server on
# loopback and prints one line per check: PASS, FAIL or SKIP. Exits 1 if
# any check failed, 2 on bad usage.
#
#   tests/sipp/run.sh [options] HOST:PORT     a running server, e.g. confab
#   tests/sipp/run.sh [options] --kamailio    starts the reference Kamailio
#                                             (benches/peers) and runs
#                                             against it: checks the
#                                             scenarios themselves
# Options:
#   --domain D           the SIP domain (default confab.local)
#   --external-callee    do not start a sipp callee for the INVITE check:
#                        something else (confab agents) is registered as
#                        vivian and answers
#   --logs DIR           keep the sipp logs in DIR (default: a new temp dir)
#
# The server must know the users vivian, amy and hao (password = user
# name) in realm DOMAIN and must not know "nobody".
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
SIPP=${SIPP:-sipp}

usage() {
	sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2
	exit 2
}

domain=confab.local
external_callee=no
use_kamailio=no
logs=
target=
while (($#)); do
	case "$1" in
	--domain) domain=${2:?}; shift 2 ;;
	--external-callee) external_callee=yes; shift ;;
	--kamailio) use_kamailio=yes; shift ;;
	--logs) logs=${2:?}; shift 2 ;;
	-h|--help) usage ;;
	-*) echo "unknown option $1" >&2; usage ;;
	*) target=$1; shift ;;
	esac
done

# shellcheck source-path=SCRIPTDIR source=../../benches/peers/lib.sh
source "$root/benches/peers/lib.sh"

if [[ -z $logs ]]; then
	logs=$(mktemp -d "${TMPDIR:-/tmp}/confab-sipp.XXXXXX")
fi
mkdir -p "$logs"
logs=$(cd "$logs" && pwd)

cleanup() {
	kamailio_stop
}
trap cleanup EXIT

if [[ $use_kamailio == yes ]]; then
	[[ -z $target ]] || { echo "give either HOST:PORT or --kamailio" >&2; exit 2; }
	port=${KAMAILIO_PORT:-5070}
	host=127.0.0.1
	printf 'username,password,display_name\nvivian,vivian,Vivian\namy,amy,Amy\nhao,hao,Hao\n' \
		>"$logs/users.csv"
	kamailio_directory "$logs/users.csv" "$logs/kamailio/db"
	kamailio_start "$logs/kamailio" "$host" "$port" on 2
	echo "kamailio: started on $host:$port (pid $KAMAILIO_PID)"
else
	[[ -n $target ]] || usage
	host=${target%:*}
	port=${target##*:}
	host=${host#[}
	host=${host%]}
fi
require_loopback "$host" || exit 2
[[ $port =~ ^[0-9]+$ ]] || { echo "bad port in $target" >&2; exit 2; }
remote=$host:$port
[[ $host == *:* ]] && remote="[$host]:$port"

# The injection files, for the domain asked for.
for csv in "$here"/*.csv; do
	sed "s/;confab\.local/;$domain/" "$csv" >"$logs/$(basename "$csv")"
done

failed_checks=0
report() { # report STATUS NAME [DETAIL]
	printf '%-4s  %s%s\n' "$1" "$2" "${3:+  ($3)}"
	[[ $1 != FAIL ]] || failed_checks=$((failed_checks + 1))
}

# The file name stem of a check.
slug() {
	printf '%s' "$1" | tr -c 'A-Za-z0-9._-' '_'
}

# Why a sipp run failed, in one line, from its error file.
why() {
	local err
	err=$logs/$(slug "$1").errors
	if grep -q 'authentication must use MD5' "$err" 2>/dev/null; then
		echo "sipp 3.6.1 answers only MD5 and reads the first challenge; offer MD5 first; see $err"
	elif [[ -s $err ]]; then
		echo "$(grep -v -e 'out-of-call' -e '^The following events occurred' "$err" |
			grep -m1 -E '[A-Za-z]' | sed -E 's/^[0-9-]+\t[0-9:.]+\t[0-9.]+: //' |
			cut -c1-120); see $err"
	else
		echo "see $logs/$(slug "$1").*"
	fi
}

# sipp_run NAME LOCAL_PORT SCENARIO CSV [sipp args...]: one bounded sipp run,
# its files named after NAME in the log directory.
sipp_run() {
	local name lport=$2 scenario=$3 csv=$4
	name=$(slug "$1")
	shift 4
	(cd "$logs" && timeout 40 "$SIPP" -sf "$here/$scenario" -inf "$logs/$csv" \
		-m 1 -p "$lport" -mp $((lport * 10 % 50000 + 10000)) \
		-timeout 10s -timeout_error -nostdin \
		-trace_err -error_file "$logs/$name.errors" \
		-trace_msg -message_file "$logs/$name.messages" \
		-trace_logs -log_file "$logs/$name.log" \
		"$@" "$remote" >"$logs/$name.out" 2>&1)
}

check() { # check NAME LOCAL_PORT SCENARIO CSV [sipp args...]
	local name=$1
	if sipp_run "$@"; then
		report PASS "$name"
	else
		report FAIL "$name" "$(why "$name")"
	fi
}

# The parts of a 401 logged by register_unknown_user.xml that must not
# tell a known user from an unknown one: status line, sorted header names,
# challenges in order with nonce and opaque blanked.
challenge_shape() { # challenge_shape LOG known|unknown
	awk -v want="$2" '
		/^=== 401 / { section = $3; next }
		/^=== end/ { section = ""; next }
		section == want { sub(/\r$/, ""); print }
	' "$1" >"$1.$2"
	head -n 1 "$1.$2"
	grep -E '^[A-Za-z0-9!%*_+`'"'"'~.-]+[ 	]*:' "$1.$2" |
		sed -E 's/[ 	]*:.*//' | tr '[:upper:]' '[:lower:]' | sort | tr '\n' ' '
	echo
	grep -i -E '^(www|proxy)-authenticate[ 	]*:' "$1.$2" |
		sed -E 's/((nonce|opaque)[ 	]*=[ 	]*)"[^"]*"/\1"..."/gI; s/((nonce|opaque)[ 	]*=[ 	]*)[^",]+/\1.../gI'
}

echo "sipp: $({ "$SIPP" -v 2>&1 || true; } | grep -m1 -o 'SIPp v[^ ]*' || echo unknown); server: $remote; logs: $logs"

if ! wait_for_sip "$host" "$port" 3; then
	report FAIL "server" "no answer to OPTIONS over UDP on $remote within 3 s; nothing else run"
	exit 1
fi

check "options_ping" 5210 options_ping.xml amy.csv
check "register_ok (udp)" 5220 register_ok.xml amy.csv -auth_uri "$domain"
check "register_ok (tcp)" 5230 register_ok.xml amy.csv -auth_uri "$domain" -t t1
check "register_wrong_password" 5240 register_wrong_password.xml wrong_password.csv \
	-auth_uri "$domain"

name="register_unknown_user"
if ! sipp_run "$name" 5250 register_unknown_user.xml unknown_user.csv -auth_uri "$domain"; then
	report FAIL "$name" "$(why "$name")"
elif ! diff <(challenge_shape "$logs/$name.log" known) \
	<(challenge_shape "$logs/$name.log" unknown) >"$logs/$name.diff"; then
	report FAIL "$name" "the 401s differ: $logs/$name.diff"
else
	report PASS "$name"
fi

# A callee registers in the background; the caller starts once the callee's
# log says it is registered; both must pass.
pair() { # pair NAME CALLEE_SCENARIO CALLEE_CSV CALLER_SCENARIO RECIPIENT
	local name=$1 callee=$2 callee_csv=$3 caller=$4 recipient=$5 pid i
	sipp_run "$name.callee" 5260 "$callee" "$callee_csv" -auth_uri "$domain" \
		-oocsf "$here/${callee%.xml}_ooc.xml" -timeout 15s &
	pid=$!
	for ((i = 0; i < 50; i++)); do
		grep -q '^registered' "$logs/$(slug "$name.callee").log" 2>/dev/null && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if ! kill -0 "$pid" 2>/dev/null; then
		# The callee ended before the call: it could not register.
		wait "$pid" || true
		report FAIL "$name" "callee: $(why "$name.callee")"
		return
	fi
	if ! sipp_run "$name.caller" 5270 "$caller" amy.csv -key recipient "$recipient" \
		-auth_uri "$recipient@$domain"; then
		wait "$pid" || true
		report FAIL "$name" "caller: $(why "$name.caller")"
	elif ! wait "$pid"; then
		report FAIL "$name" "callee: $(why "$name.callee")"
	else
		report PASS "$name"
	fi
}

pair "message (amy to hao)" message_uas.xml hao.csv message_uac.xml hao

if [[ $external_callee == yes ]]; then
	check "invite (amy to vivian)" 5270 invite_uac.xml amy.csv -key recipient vivian \
		-auth_uri "vivian@$domain"
else
	pair "invite (amy to vivian)" invite_uas.xml vivian.csv invite_uac.xml vivian
fi

if python3 "$here/garbage.py" "$remote" --count 400 --seconds 20 >"$logs/garbage.out" 2>&1; then
	report PASS "garbage" "$(tail -n 2 "$logs/garbage.out" | head -n 1 | sed 's/^garbage: //')"
else
	report FAIL "garbage" "$(tail -n 1 "$logs/garbage.out"); see $logs/garbage.out"
fi
# Still serving real requests after the garbage.
check "register_ok after garbage" 5280 register_ok.xml amy.csv -auth_uri "$domain"

if ((failed_checks)); then
	echo "$failed_checks check(s) failed; logs in $logs"
	exit 1
fi
echo "all checks passed"
