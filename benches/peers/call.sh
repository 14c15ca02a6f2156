#!/usr/bin/env bash
# The call benchmark: client CPU per second of a one-to-one Opus call,
# two confab agents against two baresip instances, on this host.
#
#   benches/peers/call.sh [--quick] [--out FILE] [--runs N] [--window S]
#
# Each run sets up one call afresh and, once both ends say it is connected
# and after SETTLE seconds, reads the utime+stime of the two client
# processes (every thread, from /proc/PID/stat) at the start and the end of
# a WINDOW-second window. CPU per second per client = difference / WINDOW
# / 2. Candidate and peer runs alternate; the table gives medians, every
# run (with the caller's and the callee's own figures) and the ratio.
#
#   confab: $CONFAB (default target/release/confab) serve --demo on a free
#     loopback port (not measured), and two `confab agent`s, vivian sending
#     tone:440 and amy tone:880, both --audio-out null; vivian calls amy
#     through the server, amy answers on incoming_call.
#   baresip: two instances calling each other directly on 127.0.0.1 (no
#     server), answering automatically; only the opus module is loaded, so
#     Opus is the one codec; the sine source of the ausine module (440 and
#     880 Hz), and the player of the aubridge module, which takes the
#     decoded audio and, with no source on the bridge, plays it nowhere (a
#     sound card stands in for nothing here: ALSA's null device does not
#     pace its writer, which then spins). No video module is loaded.
#
# Both encode mono 48 kHz Opus in 20 ms frames at 32 kb/s VBR, complexity 5,
# VoIP mode, in-band FEC on with 5% expected loss, DTX off: confab's
# defaults (src/media/codec/opus.rs), set in baresip's config.
#
# Output: a markdown table on stdout and, with --out, in FILE.
# Defaults: 5 runs of a 20 s window; --quick: 1 run of 10 s. Every step
# waits 10 s at most; baresip quits by itself after the window plus 60 s.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"

CONFAB=${CONFAB:-$root/target/release/confab}
BARESIP=${BARESIP:-baresip}
ADDR=127.0.0.1
DOMAIN=confab.local
SETTLE=2
WAIT=10

runs=5 window=20 out=
while (($#)); do
	case "$1" in
	--quick) runs=1 window=10; shift ;;
	--out) out=${2:?}; shift 2 ;;
	--runs) runs=${2:?}; shift 2 ;;
	--window) window=${2:?}; shift 2 ;;
	-h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "unknown argument $1" >&2; exit 2 ;;
	esac
done
for n in "$runs" "$window"; do
	[[ $n =~ ^[1-9][0-9]*$ ]] || { echo "not a positive number: $n" >&2; exit 2; }
done
require_loopback "$ADDR"

work=$(mktemp -d "${TMPDIR:-/tmp}/confab-bench-call.XXXXXX")
PIDS=()
FDS=()
RESULT=
cleanup_run() {
	local fd pid
	# Closing an agent's stdin is its quit command.
	for fd in "${FDS[@]}"; do
		exec {fd}>&-
	done
	for pid in "${PIDS[@]}"; do
		stop_pid "$pid"
	done
	PIDS=()
	FDS=()
}
trap 'cleanup_run; rm -rf "$work"' EXIT
tick=$(getconf CLK_TCK)

# is_local_address IP: true if IP belongs to this host (binding to it
# works), so that traffic to it never leaves the machine.
is_local_address() {
	python3 - "$1" <<'PY'
import socket, sys
try:
    socket.socket(socket.AF_INET, socket.SOCK_DGRAM).bind((sys.argv[1], 0))
except OSError:
    sys.exit(1)
PY
}

# wait_for FILE PATTERN SECONDS: true once FILE holds a line matching the
# extended regular expression PATTERN.
wait_for() {
	local file=$1 pattern=$2 i
	for ((i = 0; i < $3 * 10; i++)); do
		grep -q -E -- "$pattern" "$file" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# measure_window CALLER_PID CALLEE_PID: sleeps SETTLE, then sets RESULT to
# "OK PER_CLIENT CALLER CALLEE" (ms of CPU per second) over WINDOW seconds.
measure_window() {
	local a=$1 b=$2 a0 b0 a1 b1
	sleep "$SETTLE"
	a0=$(cpu_ticks "$a") b0=$(cpu_ticks "$b")
	sleep "$window"
	a1=$(cpu_ticks "$a") b1=$(cpu_ticks "$b")
	if ! kill -0 "$a" 2>/dev/null || ! kill -0 "$b" 2>/dev/null; then
		RESULT="SKIP a client exited during the window"
		return
	fi
	RESULT="OK $(awk -v a=$((a1 - a0)) -v b=$((b1 - b0)) -v t="$tick" -v w="$window" \
		'BEGIN { printf "%.1f %.1f %.1f", (a + b) * 1000 / t / w / 2, a * 1000 / t / w, b * 1000 / t / w }')"
}

# confab_agent NAME HZ SERVER DIR: starts an agent whose stdin is the fifo
# DIR/NAME.in (held open on a new fd, kept in FDS) and whose events go to
# DIR/NAME.out; sets AGENT_PID.
confab_agent() {
	local name=$1 hz=$2 server=$3 dir=$4 fd
	mkfifo "$dir/$name.in"
	# The other agents' fifos stay closed in this one, so that each sees
	# end of file (its quit) when this script lets go of its fifo.
	(
		for fd in "${FDS[@]}"; do
			exec {fd}>&-
		done
		XDG_CONFIG_HOME=$dir/$name/config XDG_DATA_HOME=$dir/$name/data CONFAB_PASSWORD=$name \
			exec "$CONFAB" agent --server "$server" --user "sip:$name@$DOMAIN" \
			--audio-in "tone:$hz" --audio-out null --log-level warn \
			<"$dir/$name.in" >"$dir/$name.out" 2>"$dir/$name.err"
	) &
	AGENT_PID=$!
	exec {fd}>"$dir/$name.in"
	FDS+=("$fd")
	AGENT_FD=$fd
	PIDS+=("$AGENT_PID")
}

confab_call() {
	local dir port vivian amy vivian_fd amy_fd
	if [[ ! -x $CONFAB ]]; then
		RESULT="SKIP binary $CONFAB not found"
		return
	fi
	dir=$(mktemp -d "$work/confab.XXXXXX")
	port=$(free_ports 1 "$ADDR") || { RESULT="SKIP no free port"; return; }
	"$CONFAB" serve --demo --listen "$ADDR:$port" --domain "$DOMAIN" --data "$dir/data" \
		--log-level warn </dev/null >"$dir/serve.log" 2>&1 &
	PIDS+=("$!")
	if ! wait_for_sip "$ADDR" "$port" "$WAIT"; then
		RESULT="SKIP confab serve did not answer OPTIONS: $(tail -n 1 "$dir/serve.log" | cut -c1-100)"
		return
	fi
	confab_agent vivian 440 "$ADDR:$port" "$dir"
	vivian=$AGENT_PID vivian_fd=$AGENT_FD
	confab_agent amy 880 "$ADDR:$port" "$dir"
	amy=$AGENT_PID amy_fd=$AGENT_FD
	if ! wait_for "$dir/vivian.out" '"event":"registered"' "$WAIT" ||
		! wait_for "$dir/amy.out" '"event":"registered"' "$WAIT"; then
		RESULT="SKIP the agents did not register: $(tail -q -n 1 "$dir/vivian.err" "$dir/amy.err" | cut -c1-100)"
		return
	fi
	echo '{"cmd":"call","to":"sip:amy@'"$DOMAIN"'"}' >&"$vivian_fd"
	if ! wait_for "$dir/amy.out" '"event":"incoming_call"' "$WAIT"; then
		RESULT="SKIP amy saw no incoming_call"
		return
	fi
	echo '{"cmd":"call.answer"}' >&"$amy_fd"
	if ! wait_for "$dir/vivian.out" '"event":"call".*"state":"connected"' "$WAIT" ||
		! wait_for "$dir/amy.out" '"event":"call".*"state":"connected"' "$WAIT"; then
		RESULT="SKIP the call did not connect"
		return
	fi
	measure_window "$vivian" "$amy"
}

# baresip_config DIR PORT USER HZ: a config and an accounts file for one
# instance, SIP on $ADDR:PORT, Opus only, a sine source, no sound card.
baresip_config() {
	local dir=$1 port=$2 user=$3 hz=$4
	mkdir -p "$dir"
	cat >"$dir/config" <<EOF
poll_method		epoll
sip_listen		$ADDR:$port
call_max_calls		1
audio_source		ausine,$hz
audio_player		aubridge,$user-out
audio_alert		aubridge,$user-alert
ausrc_srate		48000
auplay_srate		48000
# ausine makes stereo only; baresip downmixes it for the mono encoder.
ausrc_channels		2
auplay_channels		1
audio_level		no
rtp_stats		no
module_path		/usr/lib/baresip/modules
module			opus.so
module			ausine.so
module			aubridge.so
module_tmp		account.so
module_app		menu.so
statmode_default	off
opus_bitrate		32000
opus_stereo		no
opus_sprop_stereo	no
opus_complexity		5
opus_application	voip
opus_inbandfec		yes
opus_packet_loss	5
opus_dtx		no
EOF
	# regint=0: no registrar; the callee answers at once.
	echo "<sip:$user@$ADDR:$port>;regint=0;answermode=auto" >"$dir/accounts"
}

# baresip_start DIR [ARGS...]: sets BARESIP_PID.
baresip_start() {
	local dir=$1
	shift
	"$BARESIP" -4 -f "$dir" -t $((window + SETTLE + 60)) "$@" </dev/null >"$dir/log" 2>&1 &
	BARESIP_PID=$!
	PIDS+=("$BARESIP_PID")
}

baresip_call() {
	local dir callee_port caller_port caller callee media
	if ! command -v "$BARESIP" >/dev/null; then
		RESULT="SKIP $BARESIP not installed"
		return
	fi
	dir=$(mktemp -d "$work/baresip.XXXXXX")
	callee_port=$(free_ports 2 "$ADDR") || { RESULT="SKIP no free port"; return; }
	baresip_config "$dir/callee" "$callee_port" callee 880
	baresip_start "$dir/callee"
	callee=$BARESIP_PID
	if ! wait_for "$dir/callee/log" 'baresip is ready' "$WAIT"; then
		RESULT="SKIP baresip did not start: $(grep -v -m1 '^baresip v' "$dir/callee/log" | cut -c1-100)"
		return
	fi
	caller_port=$(free_ports 2 "$ADDR") || { RESULT="SKIP no free port"; return; }
	baresip_config "$dir/caller" "$caller_port" caller 440
	baresip_start "$dir/caller" -e "/dial sip:callee@$ADDR:$callee_port"
	caller=$BARESIP_PID
	if ! wait_for "$dir/caller/log" 'Call established' "$WAIT" ||
		! wait_for "$dir/callee/log" 'Call established' "$WAIT"; then
		RESULT="SKIP the call did not connect: $(tail -q -n 1 "$dir/caller/log" | cut -c1-100)"
		return
	fi
	# baresip offers the host's default address for RTP, not the SIP one;
	# go on only if that address is this host's own (the kernel then keeps
	# the packets on the loopback interface).
	if ! wait_for "$dir/callee/log" 'incoming rtp .* established' "$WAIT"; then
		RESULT="SKIP the callee received no RTP"
		return
	fi
	media=$(sed -n "s/.*incoming rtp .* receiving from \([0-9.]*\):.*/\1/p" "$dir/callee/log" | head -n 1)
	if [[ -z $media ]] || ! is_local_address "$media"; then
		RESULT="SKIP RTP from ${media:-an unknown address}, not an address of this host"
		return
	fi
	measure_window "$caller" "$callee"
}

declare -A values details skipped
record() { # record CLIENT RESULT-LINE
	local client=$1 status per caller callee
	read -r status per caller callee <<<"$2"
	if [[ $status == OK ]]; then
		values[$client]+="$per "
		details[$client]+="$per ($caller / $callee), "
	else
		skipped[$client]=${2#SKIP }
	fi
}

echo "call benchmark: $runs run(s) x a ${window} s window, $ADDR" >&2
for ((i = 1; i <= runs; i++)); do
	for client in baresip confab; do
		[[ -n ${skipped[$client]:-} ]] && continue
		"${client}_call"
		cleanup_run
		echo "  run $i $client: $RESULT" >&2
		record "$client" "$RESULT"
	done
done

baresip_version=$({ "$BARESIP" -h 2>&1 || true; } | sed -n 's/^baresip v\([^ ]*\).*/\1/p' | head -n 1)
confab_version=$("$CONFAB" --version 2>/dev/null | head -n 1 || true)
label() {
	if [[ $1 == baresip ]]; then
		echo "baresip ${baresip_version:-?}"
	else
		echo "${confab_version:-confab} agent"
	fi
}

table() {
	local client med
	echo "| client | CPU ms per second per client (median) | share of one core | every run: per client (caller / callee) |"
	echo "|---|---:|---:|---|"
	for client in baresip confab; do
		if [[ -n ${values[$client]:-} ]]; then
			med=$(median <<<"${values[$client]}")
			echo "| $(label "$client") | $med | $(awk -v m="$med" 'BEGIN { printf "%.1f%%", m / 10 }') | ${details[$client]%, } |"
		else
			echo "| $(label "$client") | not measured | | ${skipped[$client]:-} |"
		fi
	done
	echo
	if [[ -n ${values[confab]:-} && -n ${values[baresip]:-} ]]; then
		local confab baresip ratio
		confab=$(median <<<"${values[confab]}")
		baresip=$(median <<<"${values[baresip]}")
		ratio=$(awk -v c="$confab" -v b="$baresip" 'BEGIN { printf "%.2f", c / b }')
		echo "confab / baresip: $ratio (below 1: confab uses less CPU); goal at most 1: **$(ratio_met "$(exact_ratio "$confab" "$baresip")" 1)**"
		goal "Client in a one-to-one Opus call: CPU per second" "$confab ms" "$baresip ms (baresip)" \
			"$ratio" "≤ 1" "$(ratio_met "$(exact_ratio "$confab" "$baresip")" 1)" \
			"$(ratio_range "${values[confab]}" "${values[baresip]}")"
	else
		echo "confab / baresip: not measured"
		goal "Client in a one-to-one Opus call: CPU per second" "not measured" "" "" "≤ 1" "not measured"
	fi
	echo
	echo "$runs run(s) per row, alternating clients; each run: a fresh call, then after ${SETTLE} s the two clients' utime+stime (every thread; $tick ticks/s) over ${window} s, divided by the window and by 2. Opus mono 48 kHz, 20 ms, 32 kb/s VBR, complexity 5, VoIP, in-band FEC (5% expected loss), no DTX, both ways. confab: two agents (tone in, null out) through \`confab serve --demo\` (the server is not counted). baresip: two instances calling each other directly, ausine source, decoded audio to an aubridge player with no reader."
}

table | tee "${out:-/dev/null}"
