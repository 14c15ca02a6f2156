#!/usr/bin/env bash
# The idle client benchmark: memory, CPU and wake-ups of a client that is
# registered and doing nothing, and its start-up to registered; confab's
# terminal client against baresip and linphonec, all registered to one
# `confab serve --demo` on loopback (the server is not measured).
#
#   benches/peers/idle.sh [--quick] [--out FILE] [--runs N] [--window S]
#                         [--starts N]
#
# Every client runs in a 120x40 tmux pane (a tmux server of this script's
# own): confab's TUI draws real frames, baresip's stdio and linphonec's
# prompt have a tty. Runs alternate clients (baresip, linphonec, confab,
# confab-quiet, floor).
#
# Idle: a client starts, registers, is left alone for SETTLE seconds
# (sign-in traffic), then over a WINDOW-second window:
#   - RSS: VmRSS every second (the maximum) and at the end, with its
#     anonymous part (RssAnon; the rest is code and data mapped from
#     files); PSS from smaps_rollup at the end (confab's code is shared
#     with the server, the same binary, so its PSS reads lower).
#   - CPU: utime+stime of every thread (/proc/PID/stat, clock ticks), and
#     the on-CPU time of the living threads (/proc/PID/task/*/schedstat,
#     nanoseconds), which the ratios use: an idle client runs for less
#     than a tick.
#   - wake-ups per second: voluntary + nonvoluntary context switches
#     summed over /proc/PID/task/*/status, end minus start, over the
#     window: each time a thread slept or was preempted. Threads that exit
#     inside the window are not counted.
#
# Start-up: from exec (the launcher's $EPOCHREALTIME just before it execs
# the client) to the server sending the 200 for the client's REGISTER
# (`confab serve --trace-pcap`, stamped to the microsecond as it sends);
# one clock. STARTS starts per client, alternating, after one warm-up
# start each (which creates first-start files), so: a returning user.
# For confab, separate starts also time its first frame on the terminal
# (tmux pipe-pane, the first rounded border) against its 200.
#
#   confab: $CONFAB (default target/release/confab), the TUI as vivian
#     (demo buddies amy and hao), --audio-in silence --audio-out null (no
#     sound card touched), every other setting its default (registration
#     300 s, keep-alive 30 s, Away after 5 minutes).
#   baresip: the configuration it writes on first start (its default
#     modules), the alsa module replaced by ausine and aubridge, SIP on
#     127.0.0.2, account amy with the server as outbound proxy. baresip
#     1.0.0 gives up on a 401 that offers SHA-256 next to MD5 ("Function
#     not implemented"), so the server offers MD5 alone
#     (--digest-algorithms md5) and every client registers with digest:
#     REGISTER, 401, REGISTER, 200.
#   linphonec: tests/linphone/linphonerc (UDP on loopback, no video, no
#     NAT helpers) as hao in a HOME of its own, `soundcard use files`
#     once registered (it finds no sound card at start-up).
#   floor: $SIPFLOOR (default confab-sipfloor beside $CONFAB) keepalive,
#     as vivian: REGISTER once (offering keep-alives, as confab does),
#     then the keep-alive confab sends (a STUN Binding request at 80-100%
#     of the 30 s the server grants, its answer read) on a blocking
#     socket and nothing else: the least a client that keeps alive as
#     confab does pays on this machine. Not in the start-up table.
#
# Output: a markdown section on stdout and, with --out, in FILE.
# Defaults: 5 runs of a 60 s window, 10 starts per client; --quick: 1 run
# of 10 s and 3 starts. Every wait is bounded (10 s); every process runs
# under timeout and is stopped by the trap.
# Environment: BENCH_KEEP=DIR keeps the work directory (the server's pcap
# and log, each client's files and logs) as DIR/idle.TIME rather than
# deleting it, to look into a start or a window that stands out.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"

CONFAB=${CONFAB:-$root/target/release/confab}
SIPFLOOR=${SIPFLOOR:-$(dirname "$CONFAB")/confab-sipfloor}
BARESIP=${BARESIP:-baresip}
LINPHONEC=${LINPHONEC:-linphonec}
ADDR=127.0.0.1
# baresip's own loopback address.
BARESIP_ADDR=127.0.0.2
DOMAIN=confab.local
SETTLE=5
WAIT=10
COLS=120
ROWS=40
# confab-quiet: confab with --keepalive 0, sending nothing between
# registrations as baresip's default configuration does; beside the goal,
# not in it: it shows what the keep-alive costs.
# floor: the keep-alive alone (see above), for the CPU goal's context.
CLIENTS=(baresip linphonec confab confab-quiet floor)

runs=5 window=60 starts=10 out=
while (($#)); do
	case "$1" in
	--quick) runs=1 window=10 starts=3; shift ;;
	--out) out=${2:?}; shift 2 ;;
	--runs) runs=${2:?}; shift 2 ;;
	--window) window=${2:?}; shift 2 ;;
	--starts) starts=${2:?}; shift 2 ;;
	-h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "unknown argument $1" >&2; exit 2 ;;
	esac
done
for n in "$runs" "$window" "$starts"; do
	[[ $n =~ ^[1-9][0-9]*$ ]] || { echo "not a positive number: $n" >&2; exit 2; }
done
require_loopback "$ADDR"
require_loopback "$BARESIP_ADDR"

work=$(mktemp -d "${TMPDIR:-/tmp}/confab-bench-idle.XXXXXX")
SERVER_PID=
tmux_cmd() { timeout 10 tmux -f /dev/null -S "$work/tmux.socket" "$@"; }
cleanup() {
	local pid
	for pid in $(client_pids); do
		stop_pid "$pid"
	done
	tmux_cmd kill-server >/dev/null 2>&1 || true
	stop_pid "$SERVER_PID"
	if [[ -n ${BENCH_KEEP:-} ]] && mkdir -p "$BENCH_KEEP" &&
		mv "$work" "$BENCH_KEEP/idle.$(date -u +%Y%m%dT%H%M%S)"; then
		return
	fi
	rm -rf "$work"
}
trap cleanup EXIT
tick=$(getconf CLK_TCK)

# client_pids: the processes running in this script's panes.
client_pids() {
	tmux_cmd list-panes -a -F '#{pane_pid}' 2>/dev/null || true
}

# registered_at PCAP USER SINCE: the time (seconds since the epoch, with
# microseconds) at which the server sent the first 200 to a REGISTER for
# USER after SINCE; nothing if there is none yet.
registered_at() {
	python3 - "$@" <<'PY'
import struct, sys
path, user, since = sys.argv[1], sys.argv[2], float(sys.argv[3])
try:
    data = open(path, "rb").read()
except OSError:
    data = b""
endian = "<" if data[:4] == b"\xd4\xc3\xb2\xa1" else ">"
offset = 24
while offset + 16 <= len(data):
    seconds, micros, length, _ = struct.unpack(endian + "IIII", data[offset:offset + 16])
    packet = data[offset + 16:offset + 16 + length]
    offset += 16 + length
    at = seconds + micros / 1e6
    # Ethernet, then IPv4 (header length from its first byte), then UDP.
    if at < since or len(packet) < 14 + 20 + 8 or packet[14] >> 4 != 4:
        continue
    payload = packet[14 + (packet[14] & 15) * 4 + 8:]
    head = payload.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    if not head or not head[0].startswith(b"SIP/2.0 200"):
        continue
    fields = dict((n.strip().lower(), v.strip()) for n, _, v in (l.partition(b":") for l in head[1:]))
    to = fields.get(b"to", b"") or fields.get(b"t", b"")
    if fields.get(b"cseq", b"").upper().endswith(b"REGISTER") and f"sip:{user}@".encode() in to:
        print(f"{at:.6f}")
        break
PY
}

# wait_registered USER SINCE: sets REGISTERED_AT once the server has
# answered USER's REGISTER with a 200 after SINCE; fails after WAIT s.
# Looks only now and then, so that the look costs the client nothing
# while it starts.
wait_registered() {
	local user=$1 since=$2 i
	sleep 0.4
	for ((i = 0; i < WAIT * 4; i++)); do
		REGISTERED_AT=$(registered_at "$work/server.pcap" "$user" "$since")
		[[ -n $REGISTERED_AT ]] && return 0
		sleep 0.25
	done
	return 1
}

server_start() {
	local port
	port=$(free_ports 1 "$ADDR" "$BARESIP_ADDR") || return 1
	SERVER="$ADDR:$port"
	spawn_sip_server "$work/server.log" "$ADDR" "$port" "confab serve" \
		timeout $((runs * ${#CLIENTS[@]} * (window + SETTLE + 40) + starts * 3 * 30 + 600)) \
		"$CONFAB" serve --demo --listen "$SERVER" --domain "$DOMAIN" --data "$work/server" \
		--digest-algorithms md5 --trace-pcap "$work/server.pcap" --log-level warn || return 1
	SERVER_PID=$SPAWNED_PID
}

# setup_baresip: its first-start configuration, adapted (see above).
setup_baresip() {
	local dir=$work/baresip port
	mkdir -p "$dir"
	timeout 10 "$BARESIP" -f "$dir" -t 1 </dev/null >"$work/baresip-template.log" 2>&1 || true
	[[ -s $dir/config ]] || return 1
	port=$(free_ports 2 "$ADDR" "$BARESIP_ADDR") || return 1
	sed -i -E \
		-e "s/^#?sip_listen[[:space:]].*/sip_listen\t\t$BARESIP_ADDR:$port/" \
		-e 's/^audio_player[[:space:]].*/audio_player\t\taubridge,idle/' \
		-e 's/^audio_source[[:space:]].*/audio_source\t\tausine,440/' \
		-e 's/^audio_alert[[:space:]].*/audio_alert\t\taubridge,idle/' \
		-e 's/^module[[:space:]]+alsa\.so.*/module\t\t\tausine.so\nmodule\t\t\taubridge.so/' \
		"$dir/config"
	grep -q "^sip_listen.*$BARESIP_ADDR:$port" "$dir/config" || echo "sip_listen $BARESIP_ADDR:$port" >>"$dir/config"
	grep -q '^module[[:space:]]*ausine.so' "$dir/config" || printf 'module ausine.so\nmodule aubridge.so\n' >>"$dir/config"
	echo "<sip:amy@$DOMAIN>;auth_pass=amy;outbound=\"sip:$SERVER\"" >"$dir/accounts"
	cat >"$work/launch-baresip.sh" <<EOF
exec "$BARESIP" -f "$dir"
EOF
}

setup_linphonec() {
	local dir=$work/linphonec sip rtp
	mkdir -p "$dir/home/.local/share/linphone" "$dir/home/.config"
	sip=$(free_ports 1 "$ADDR" "$BARESIP_ADDR") || return 1
	rtp=$(free_ports 2 "$ADDR" "$BARESIP_ADDR") || return 1
	((rtp % 2 == 0)) || rtp=$((rtp + 1))
	sed -e "s/\${SIP_PORT}/$sip/; s/\${RTP_PORT}/$rtp/; s/\${SERVER}/$SERVER/g" \
		-e "s/\${IDENTITY}/hao/g; s/\${USER}/hao/; s/\${PASSWORD}/hao/" \
		-e "s/\${DOMAIN}/$DOMAIN/g" "$root/tests/linphone/linphonerc" >"$dir/linphonerc"
	cat >"$work/launch-linphonec.sh" <<EOF
export HOME="$dir/home" XDG_DATA_HOME="$dir/home/.local/share" XDG_CONFIG_HOME="$dir/home/.config"
exec "$LINPHONEC" -c "$dir/linphonerc"
EOF
}

setup_confab() {
	local dir=$work/confab
	mkdir -p "$dir"
	cat >"$work/launch-confab.sh" <<EOF
export XDG_DATA_HOME="$dir/data" XDG_STATE_HOME="$dir/state" XDG_CONFIG_HOME="$dir/config" CONFAB_PASSWORD=vivian
exec "$CONFAB" --server "$SERVER" --user vivian --audio-in silence --audio-out null
EOF
}

setup_confab-quiet() {
	setup_confab
	sed 's/--audio-out null$/--audio-out null --keepalive 0/' "$work/launch-confab.sh" >"$work/launch-confab-quiet.sh"
}

setup_floor() {
	cat >"$work/launch-floor.sh" <<EOF
exec "$SIPFLOOR" keepalive --server "$SERVER" --user vivian --domain "$DOMAIN"
EOF
}

user_of() {
	case "$1" in
	baresip) echo amy ;;
	linphonec) echo hao ;;
	confab | confab-quiet | floor) echo vivian ;;
	esac
}

# launch CLIENT [GATE]: starts CLIENT in a new tmux session named after
# it; its launcher writes the exec time to $work/CLIENT.t0 just before
# exec (after reading a line from the fifo GATE, if given). Sets PID.
launch() {
	local client=$1 gate=${2:-} line
	rm -f "$work/$client.t0"
	line="printf '%s\n' \"\${EPOCHREALTIME:-\$(date +%s.%N)}\" >'$work/$client.t0'; source '$work/launch-$client.sh'"
	[[ -n $gate ]] && line="read -r _ <'$gate'; $line"
	# Given as several arguments, the command is run without a shell.
	# --foreground: the client stays in the terminal's foreground process
	# group, so that it may read its keys.
	tmux_cmd new-session -d -s "$client" -x "$COLS" -y "$ROWS" \
		timeout --foreground $((window + SETTLE + 120)) bash -c "$line"
	PID=$(tmux_cmd display -p -t "$client" '#{pane_pid}')
}

# The timeout wrapper is the pane's process; the client is its child.
client_pid() {
	local wrapper=$1 i child
	for ((i = 0; i < 50; i++)); do
		child=$(ps -o pid= --ppid "$wrapper" 2>/dev/null | head -n 1 | tr -d ' ')
		if [[ -n $child ]]; then
			echo "$child"
			return 0
		fi
		sleep 0.02
	done
	return 1
}

# stop CLIENT PID: asks politely (each client unregisters on the way
# out), then TERM, then KILL.
stop() {
	local client=$1 pid=$2 i
	case "$client" in
	confab | confab-quiet) tmux_cmd send-keys -t "$client" q >/dev/null 2>&1 || true ;;
	linphonec) tmux_cmd send-keys -t linphonec quit Enter >/dev/null 2>&1 || true ;;
	baresip | floor) kill -TERM "$pid" 2>/dev/null || true ;;
	esac
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -TERM "$pid" 2>/dev/null || true
	sleep 0.2
	kill -KILL "$pid" 2>/dev/null || true
	tmux_cmd kill-session -t "$client" >/dev/null 2>&1 || true
}

# start_and_register CLIENT: launches it and waits for its 200; sets PID
# (the client's) and STARTUP_MS, or fails with WHY.
start_and_register() {
	local client=$1 t0 i
	launch "$client"
	if ! PID=$(client_pid "$PID"); then
		WHY="$client did not start"
		return 1
	fi
	for ((i = 0; i < WAIT * 10; i++)); do
		[[ -s $work/$client.t0 ]] && break
		sleep 0.1
	done
	t0=$(cat "$work/$client.t0" 2>/dev/null || true)
	if [[ -z $t0 ]] || ! wait_registered "$(user_of "$client")" "$t0"; then
		WHY="$client did not register within $WAIT s: $(tmux_cmd capture-pane -p -t "$client" 2>/dev/null | grep . | tail -n 1 | cut -c1-100)"
		stop "$client" "$PID"
		return 1
	fi
	STARTUP_MS=$(awk -v a="$t0" -v b="$REGISTERED_AT" 'BEGIN { printf "%.1f", (b - a) * 1000 }')
}

# Per-process readings, with bash builtins only (no process per sample).
field_kb() { # field_kb FILE FIELD: "FIELD: N kB" lines of /proc files
	local key value rest
	while read -r key value rest; do
		[[ $key == "$2:" ]] && { echo "$value"; return; }
	done 2>/dev/null <"$1"
	echo 0
}
switches() {
	local total=0 file key value rest
	for file in /proc/"$1"/task/*/status; do
		while read -r key value rest; do
			case "$key" in
			voluntary_ctxt_switches: | nonvoluntary_ctxt_switches:) total=$((total + value)) ;;
			esac
		done 2>/dev/null <"$file" || true
	done
	echo "$total"
}
oncpu_ns() {
	local total=0 file ns rest
	for file in /proc/"$1"/task/*/schedstat; do
		read -r ns rest 2>/dev/null <"$file" || continue
		total=$((total + ns))
	done
	echo "$total"
}
threads() {
	local dirs=(/proc/"$1"/task/*)
	echo "${#dirs[@]}"
}

# measure_idle CLIENT: one run; sets RESULT to "OK RSS_END_KB RSS_MAX_KB
# PSS_KB CPU_MS ONCPU_MS WAKES_PER_S THREADS ANON_KB" or "SKIP why".
measure_idle() {
	local client=$1 pid c0 c1 s0 s1 n0 n1 rss max=0 pss anon i nthreads
	if ! start_and_register "$client"; then
		RESULT="SKIP $WHY"
		return
	fi
	pid=$PID
	[[ $client == linphonec ]] && tmux_cmd send-keys -t linphonec "soundcard use files" Enter
	sleep "$SETTLE"
	c0=$(cpu_ticks "$pid") s0=$(switches "$pid") n0=$(oncpu_ns "$pid")
	for ((i = 0; i < window; i++)); do
		sleep 1
		kill -0 "$pid" 2>/dev/null || break
		rss=$(field_kb "/proc/$pid/status" VmRSS)
		((rss > max)) && max=$rss
	done
	c1=$(cpu_ticks "$pid") s1=$(switches "$pid") n1=$(oncpu_ns "$pid")
	pss=$(field_kb "/proc/$pid/smaps_rollup" Pss) anon=$(field_kb "/proc/$pid/status" RssAnon)
	nthreads=$(threads "$pid")
	if ! kill -0 "$pid" 2>/dev/null; then
		RESULT="SKIP $client exited during the window"
		return
	fi
	stop "$client" "$pid"
	RESULT="OK $rss $max $pss $(((c1 - c0) * 1000 / tick)) \
$(awk -v n=$((n1 - n0)) 'BEGIN { printf "%.2f", n / 1e6 }') \
$(awk -v s=$((s1 - s0)) -v w="$window" 'BEGIN { printf "%.2f", s / w }') $nthreads $anon"
}

# first_frame: one start of confab with its pane's output piped to a
# watcher; sets FRAME to "FRAME_MS REGISTERED_MS" after exec, or "".
first_frame() {
	local gate=$work/gate frame=$work/frame.at t0 i
	rm -f "$gate" "$frame"
	mkfifo "$gate"
	cat >"$work/watch-frame.py" <<'PY'
import sys, time
# The first rounded corner of a pane border: the first frame is out.
wanted, seen, out = b"\xe2\x95\xad", b"", sys.argv[1]
stream = sys.stdin.buffer.raw
while True:
    chunk = stream.read(65536)
    if not chunk:
        break
    if out and wanted in seen[-2:] + chunk:
        with open(out, "w") as f:
            f.write(f"{time.time():.6f}\n")
        out = None
    seen = chunk
PY
	# The watcher sits on the pane before the client is let go.
	launch confab "$gate"
	tmux_cmd pipe-pane -o -t confab "exec python3 '$work/watch-frame.py' '$frame'"
	sleep 0.5
	FRAME=
	if ! PID=$(client_pid "$PID"); then
		echo >"$gate" || true
		return
	fi
	echo >"$gate"
	for ((i = 0; i < WAIT * 10; i++)); do
		[[ -s $work/confab.t0 ]] && break
		sleep 0.1
	done
	t0=$(cat "$work/confab.t0" 2>/dev/null || true)
	if [[ -n $t0 ]] && wait_registered vivian "$t0"; then
		for ((i = 0; i < WAIT * 10; i++)); do
			[[ -s $frame ]] && break
			sleep 0.1
		done
		if [[ -s $frame ]]; then
			FRAME=$(awk -v a="$t0" -v f="$(cat "$frame")" -v r="$REGISTERED_AT" \
				'BEGIN { printf "%.1f %.1f", (f - a) * 1000, (r - a) * 1000 }')
		fi
	fi
	stop confab "$PID"
}

spread() {
	tr ' ' '\n' | grep . | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { if (NR) printf "%s-%s", lo, hi }'
}

declare -A skipped rss_end rss_max rss_anon pss cpu oncpu wakes nthreads runs_text
record_idle() { # record_idle CLIENT RESULT-LINE
	local client=$1 status a b c d e f g h
	read -r status a b c d e f g h <<<"$2"
	if [[ $status != OK ]]; then
		skipped[$client]=${2#SKIP }
		return
	fi
	rss_end[$client]+="$(awk -v k="$a" 'BEGIN { printf "%.1f", k / 1024 }') "
	rss_max[$client]+="$(awk -v k="$b" 'BEGIN { printf "%.1f", k / 1024 }') "
	pss[$client]+="$(awk -v k="$c" 'BEGIN { printf "%.1f", k / 1024 }') "
	rss_anon[$client]+="$(awk -v k="$h" 'BEGIN { printf "%.1f", k / 1024 }') "
	cpu[$client]+="$d "
	oncpu[$client]+="$e "
	wakes[$client]+="$f "
	nthreads[$client]+="$g "
	runs_text[$client]+="$(awk -v k="$a" 'BEGIN { printf "%.1f", k / 1024 }') MB, $d ms ($e), $f/s; "
}

# Setup.
for client in "${CLIENTS[@]}"; do
	case "$client" in
	confab | confab-quiet) [[ -x $CONFAB ]] || skipped[$client]="binary $CONFAB not found" ;;
	baresip) command -v "$BARESIP" >/dev/null || skipped[baresip]="$BARESIP not installed" ;;
	linphonec) command -v "$LINPHONEC" >/dev/null || skipped[linphonec]="$LINPHONEC not installed" ;;
	floor) [[ -x $SIPFLOOR ]] || skipped[floor]="binary $SIPFLOOR not found (cargo build --release builds it)" ;;
	esac
done
if ! command -v tmux >/dev/null; then
	for client in "${CLIENTS[@]}"; do skipped[$client]="tmux not installed"; done
elif [[ ! -x $CONFAB ]] || ! server_start; then
	for client in "${CLIENTS[@]}"; do
		skipped[$client]="no server: confab serve ($CONFAB) did not start: $(tail -n 1 "$work/server.log" 2>/dev/null | cut -c1-80)"
	done
fi
for client in "${CLIENTS[@]}"; do
	[[ -n ${skipped[$client]:-} ]] && continue
	if ! "setup_$client"; then
		skipped[$client]="could not be set up"
		continue
	fi
	# The warm-up start: first-start files, caches.
	if start_and_register "$client"; then
		stop "$client" "$PID"
	else
		skipped[$client]=$WHY
	fi
done

echo "idle benchmark: $runs run(s) x a ${window} s window, $starts start(s) per client, server $SERVER" >&2
for ((i = 1; i <= runs; i++)); do
	for client in "${CLIENTS[@]}"; do
		[[ -n ${skipped[$client]:-} ]] && continue
		measure_idle "$client"
		echo "  run $i $client: $RESULT" >&2
		record_idle "$client" "$RESULT"
	done
done
declare -A starts_ms
for ((i = 1; i <= starts; i++)); do
	for client in "${CLIENTS[@]}"; do
		# The quiet variant starts as confab does; the floor is no client.
		[[ -n ${skipped[$client]:-} || $client == confab-quiet || $client == floor ]] && continue
		if start_and_register "$client"; then
			starts_ms[$client]+="$STARTUP_MS "
			stop "$client" "$PID"
			echo "  start $i $client: $STARTUP_MS ms" >&2
		else
			echo "  start $i $client: $WHY" >&2
		fi
	done
done
frames=()
if [[ -z ${skipped[confab]:-} ]]; then
	for ((i = 1; i <= (starts < 3 ? starts : 3); i++)); do
		first_frame
		[[ -n $FRAME ]] && frames+=("$FRAME")
		echo "  first frame $i: ${FRAME:-not seen} (ms after exec: frame, 200)" >&2
	done
fi

# How much of the link order (build.rs) the measured binary still has: the
# functions of start-up and idle sit together only where their names match.
link_order() {
	local order=$root/link/symbol-order.txt listed found
	if [[ ! -f $order ]] || ! command -v nm >/dev/null; then
		echo "not known (no order file or no nm)"
		return
	fi
	listed=$(grep -vc '^#' "$order" || true)
	found=$(nm --defined-only "$CONFAB" 2>/dev/null | awk 'NR == FNR { if ($0 !~ /^#/) want[$0] = 1; next }
		($3 in want) { n++ } END { print n + 0 }' "$order" - || true)
	echo "$found of the $listed functions of link/symbol-order.txt are in the binary"
}

# Versions.
baresip_version=$({ "$BARESIP" -h 2>&1 || true; } | sed -n 's/^baresip v\([^ ]*\).*/\1/p' | head -n 1)
linphonec_version=$({ "$LINPHONEC" --version 2>&1 || true; } | sed -n 's/^version: //p' | head -n 1)
confab_version=$("$CONFAB" --version 2>/dev/null | head -n 1 || true)
label() {
	case "$1" in
	baresip) echo "baresip ${baresip_version:-?}" ;;
	linphonec) echo "linphonec ${linphonec_version:-?}" ;;
	confab) echo "${confab_version:-confab} (TUI)" ;;
	confab-quiet) echo "${confab_version:-confab} (TUI, --keepalive 0)" ;;
	floor) echo "floor (the keep-alive alone)" ;;
	esac
}
med() { median_places 2 <<<"${1:-}"; }
ratio() { # ratio A B: A / B to two decimals, or why not
	awk -v a="${1:-}" -v b="${2:-}" 'BEGIN { if (a == "" || b == "") print "n/a";
		else if (b + 0 == 0) printf "n/a (%s against 0)", a; else printf "%.3g", a / b }'
}

# floor_note: for the CPU goal's verdict, where the floor lies against
# baresip (empty when either was not measured).
floor_note() {
	[[ -n ${oncpu[floor]:-} && -n ${oncpu[baresip]:-} ]] || return 0
	local f b
	f=$(med "${oncpu[floor]}") b=$(med "${oncpu[baresip]}")
	awk -v f="$f" -v b="$b" 'BEGIN { if (b + 0 == 0) exit;
		printf " (floor %.2f of baresip: the keep-alive alone costs %s ms)", f / b, f }'
}

table() {
	local client all_start
	echo "| client | RSS at end, MB | RSS max, MB | of which anonymous, MB | PSS at end, MB | CPU over ${window} s, ms (utime+stime) | on-CPU, ms (schedstat) | wake-ups/s | threads | every run: RSS, CPU (on-CPU), wake-ups |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
	for client in "${CLIENTS[@]}"; do
		if [[ -n ${rss_end[$client]:-} ]]; then
			echo "| $(label "$client") | $(med "${rss_end[$client]}") | $(med "${rss_max[$client]}") | $(med "${rss_anon[$client]}") | $(med "${pss[$client]}") | $(med "${cpu[$client]}") | $(med "${oncpu[$client]}") | $(med "${wakes[$client]}") | $(med "${nthreads[$client]}") | ${runs_text[$client]%; } |"
		else
			echo "| $(label "$client") | not measured | | | | | | | | ${skipped[$client]:-} |"
		fi
	done
	echo
	echo "| client | start-up: exec to the 200 for its REGISTER, ms (median) | spread | every start (ms) |"
	echo "|---|---:|---|---|"
	for client in "${CLIENTS[@]}"; do
		[[ $client == confab-quiet || $client == floor ]] && continue
		all_start="${starts_ms[$client]:-}"
		if [[ -n $all_start ]]; then
			echo "| $(label "$client") | $(med "$all_start") | $(spread <<<"$all_start") | $(echo "$all_start" | sed 's/ $//; s/ /, /g') |"
		else
			echo "| $(label "$client") | not measured | | ${skipped[$client]:-} |"
		fi
	done
	echo
	local peer c b
	for peer in baresip linphonec; do
		if [[ -n ${rss_end[confab]:-} && -n ${rss_end[$peer]:-} ]]; then
			echo "confab / $peer: RSS $(ratio "$(med "${rss_end[confab]}")" "$(med "${rss_end[$peer]}")"), on-CPU time $(ratio "$(med "${oncpu[confab]}")" "$(med "${oncpu[$peer]}")"), wake-ups $(ratio "$(med "${wakes[confab]}")" "$(med "${wakes[$peer]}")"), start-up $(ratio "$(med "${starts_ms[confab]:-}")" "$(med "${starts_ms[$peer]:-}")") (below 1: confab uses less)."
		else
			echo "confab / $peer: not measured (${skipped[confab]:-${skipped[$peer]:-no run}})"
		fi
	done
	echo
	if [[ -n ${rss_end[confab]:-} && -n ${rss_end[baresip]:-} ]]; then
		c=$(med "${rss_end[confab]}") b=$(med "${rss_end[baresip]}")
		awk -v c="$c" -v b="$b" 'BEGIN { if (c <= b) printf "Goal RSS no more than baresip'"'"'s: met (%s MB against %s MB).\n", c, b;
			else printf "Goal RSS no more than baresip'"'"'s: **missed** (%s MB against %s MB).\n", c, b }'
		goal "Idle client, TUI on: memory (RSS)" "$c MB" "$b MB (baresip)" "$(ratio "$c" "$b")" "≤ 1" \
			"$(ratio_met "$(exact_ratio "$c" "$b")" 1)" "$(ratio_range "${rss_end[confab]}" "${rss_end[baresip]}" 3)"
		c=$(med "${oncpu[confab]}") b=$(med "${oncpu[baresip]}")
		awk -v c="$c" -v b="$b" -v w="$window" 'BEGIN { if (c <= b) printf "Goal CPU no more than baresip'"'"'s: met (%s ms against %s ms on CPU over %s s).\n", c, b, w;
			else printf "Goal CPU no more than baresip'"'"'s: **missed** (%s ms against %s ms on CPU over %s s).\n", c, b, w }'
		goal "Idle client, TUI on: CPU over ${window} s" "$c ms" "$b ms (baresip)" "$(ratio "$c" "$b")" "≤ 1" \
			"$(ratio_met "$(exact_ratio "$c" "$b")" 1)$(floor_note)" "$(ratio_range "${oncpu[confab]}" "${oncpu[baresip]}" 3)"
		c=$(med "${wakes[confab]}") b=$(med "${wakes[baresip]}")
		goal "Idle client, TUI on: wake-ups per second" "$c" "$b (baresip)" "$(ratio "$c" "$b")" "" "" \
			"$(ratio_range "${wakes[confab]}" "${wakes[baresip]}")"
		if [[ -n ${oncpu[confab-quiet]:-} ]]; then
			c=$(med "${oncpu[confab-quiet]}") b=$(med "${oncpu[baresip]}")
			echo "Without keep-alives (--keepalive 0; baresip's default sends none): confab $c ms on CPU against baresip's $b ms ($(ratio "$c" "$b")), $(med "${wakes[confab-quiet]}") wake-ups/s. The only difference from the row with defaults is the keep-alive (a STUN Binding request every 24-30 s, as the server grants)."
		fi
	fi
	if [[ -n ${oncpu[floor]:-} ]]; then
		c=$(med "${oncpu[floor]}") b=$(med "${oncpu[confab]:-}")
		echo "The floor, a client that does nothing but the same keep-alive (REGISTER once, offering keep-alives, then a STUN Binding request every 24-30 s as granted and its answer, on a blocking socket): $c ms on CPU over ${window} s, $(med "${wakes[floor]}") wake-ups/s; confab / floor: $(ratio "$b" "$c")."
	fi
	if [[ -n ${starts_ms[confab]:-} ]]; then
		c=$(med "${starts_ms[confab]}")
		awk -v c="$c" 'BEGIN { if (c < 50) printf "Goal start-up under 50 ms: met (median %s ms).\n", c;
			else printf "Goal start-up under 50 ms: **missed** (median %s ms).\n", c }'
		b=$(med "${starts_ms[baresip]:-}")
		goal "Client start-up to registered" "$c ms" "${b:+$b ms (baresip)}" \
			"$(ratio "$c" "$b")" "< 50 ms" "$(awk -v c="$c" 'BEGIN { print (c < 50) ? "met" : "NOT met" }')" \
			"$(ratio_range "${starts_ms[confab]}" "${starts_ms[baresip]:-}" 3)"
	fi
	if ((${#frames[@]})); then
		local f before=0 text=
		for f in "${frames[@]}"; do
			read -r a b <<<"$f"
			awk -v a="$a" -v b="$b" 'BEGIN { exit !(a < b) }' && before=$((before + 1))
			text+="$a ms / $b ms, "
		done
		echo "confab's first frame against its 200 (ms after exec): ${text%, }; drawn before registration in $before of ${#frames[@]} starts (the frame's time is when tmux has passed it on: a bound from above)."
	fi
	echo
	echo "$runs run(s) per client, alternating, each a fresh start: registered, ${SETTLE} s left alone, then a ${window} s window. RSS = VmRSS (MB = 1024 kB); PSS from smaps_rollup (confab shares its text with the server, the same binary). CPU = utime+stime of every thread over the window ($tick ticks/s), and the on-CPU time of the living threads (schedstat), which the ratios and the CPU goal use. Wake-ups/s = voluntary + nonvoluntary context switches summed over /proc/PID/task/*/status across the window, divided by it. Start-up: $starts start(s) per client after one warm-up start, from the launcher's \$EPOCHREALTIME just before exec to the server's record of sending the 200 (its pcap trace). Every client in a ${COLS}x${ROWS} tmux pane, registered to one \`confab serve --demo\` on $ADDR (not measured). confab: the TUI as vivian (buddies amy and hao), --audio-in silence --audio-out null, defaults otherwise (keep-alive 30 s, registration 300 s; the server grants STUN keep-alives every 30 s, RFC 6223, which confab sends at 80-100% of that). baresip: its first-start configuration with ausine/aubridge for alsa, SIP on $BARESIP_ADDR, account amy. linphonec: tests/linphone/linphonerc as hao, \`soundcard use files\`. Every client registers with digest (REGISTER, 401, REGISTER, 200); the server offers MD5 alone (\`--digest-algorithms md5\`), since baresip 1.0.0 cannot answer a 401 that also offers SHA-256."
	echo
	echo "confab's code layout: $(link_order) (release builds place the functions of start-up and idle together, so only they stay resident)."
}

table | tee "${out:-/dev/null}"
