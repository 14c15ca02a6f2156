#!/usr/bin/env bash
# The conference bridge benchmark: how many plain-RTP Opus participants one
# conference holds on one core with no late frames, and the transit delay
# of an impulse through the bridge, confab's A/V MCU against Janus
# AudioBridge, both driven by our load generator (confab-rtpload).
#
#   benches/peers/bridge.sh [--quick] [--out FILE] [--runs N] [--delay-runs N]
#
# The bridge runs pinned to core 1 (taskset -c 1), the generator on core 0.
# Each participant is a UDP socket of the generator sending 20 ms Opus
# frames encoded once before the run (48 kHz mono, 32 kb/s, complexity 5,
# FEC; 3 talkers with a speech-like voice, everyone else a quiet room's
# noise floor) and reading its mix.
#
#   confab: $CONFAB (default target/release/confab) serve on a free
#     loopback port with a directory of users; the generator creates an
#     ad-hoc conference by C3P and each participant sends a media INVITE
#     to its focus (digest as its own user).
#   Janus: janus (Debian's 1.1.2) with a configuration written here:
#     janus.plugin.audiobridge and janus.transport.http only, on loopback;
#     the generator creates a room (48 kHz, plain RTP allowed) and joins
#     each participant with the `rtp` object, complexity 5 (`quality`),
#     32 kb/s, FEC, 5% expected loss; the plugin's defaults otherwise (its
#     jitter buffer among them).
#
# Capacity: from a start count the participants double until a window
# fails, then the count is bisected (to 10%, 25% with --quick). A window
# fails when more than 0.1% of the frames every participant should have
# received were late: a frame is late when it arrives more than 20 ms
# after its due time, on the schedule the stream's RTP timestamps give
# from its earliest packet in the window, or never. confab's ramp stops at
# 2,000, the most users a conference roster holds.
#
# Transit delay: one participant sends silence and a 1 kHz burst every
# second, its packets held back by a random 0 to J ms (J = 0 and 20;
# uniform, so they never overtake one another); another decodes its mix
# and finds each burst's onset. Delay = the onset's arrival - the burst's
# place in what was sent, timed as if sent with no jitter; it includes the
# bridge's Opus re-encoding (a few ms of codec delay), not ours.
#
# Candidate and peer alternate in every run; the table gives medians,
# every run, the spread and the ratios. The generator runs SCHED_FIFO
# (chrt) and the bridges at nice -15 in a session whose scheduling group
# is at nice -15 too, so that other work on this shared machine disturbs
# the measure less. confab's media thread then raises itself to -20, five
# steps above its process, as it does wherever it may (src/net/priority.rs).
#
# Output: a markdown section on stdout and, with --out, in FILE.
# Defaults: 3 capacity runs and 5 delay runs (about 9 minutes); --quick: 1
# of each with shorter windows (under 2 minutes). A delay run is short
# (four measures of about 15 s), so it is repeated more: its noise is the
# range of the runs' medians.
# Every process runs under timeout.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"

CONFAB=${CONFAB:-$root/target/release/confab}
RTPLOAD=${RTPLOAD:-$(dirname "$CONFAB")/confab-rtpload}
JANUS=${JANUS:-janus}
JANUS_LIB=${JANUS_LIB:-/usr/lib/x86_64-linux-gnu/janus}
ADDR=127.0.0.1
DOMAIN=confab.local
MAX_PARTICIPANTS=2000

runs=3 delay_runs=5 quick=no out=
while (($#)); do
	case "$1" in
	--quick) runs=1 delay_runs=1 quick=yes; shift ;;
	--out) out=${2:?}; shift 2 ;;
	--runs) runs=${2:?}; shift 2 ;;
	--delay-runs) delay_runs=${2:?}; shift 2 ;;
	-h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "unknown argument $1" >&2; exit 2 ;;
	esac
done
for n in "$runs" "$delay_runs"; do
	[[ $n =~ ^[1-9][0-9]*$ ]] || { echo "not a positive number: $n" >&2; exit 2; }
done
require_loopback "$ADDR"

if [[ $quick == yes ]]; then
	settle=1.5 window=2 resolution=0.25 delay_seconds=5
else
	settle=2 window=4 resolution=0.1 delay_seconds=8
fi
tolerance=0.001

work=$(mktemp -d "${TMPDIR:-/tmp}/confab-bench-bridge.XXXXXX")
BRIDGE_PID=
cleanup() {
	stop_pid "$BRIDGE_PID"
	rm -rf "$work"
}
trap cleanup EXIT

users_csv "$work/users.csv" $((MAX_PARTICIPANTS + 1))

# The cores: the bridge on the second, the generator on the first; on a
# single core machine both share it.
bridge_core=1 generator_core=0
(($(nproc) >= 2)) || bridge_core=0
# A session of its own (setsid) for the bridge, so that its scheduling
# group (the kernel's autogroup) can be raised too: nice alone weighs only
# within a session, and other sessions' work would share the core equally.
bridge_prefix=(setsid nice -n -15 taskset -c "$bridge_core")
generator_prefix=(chrt -f 10 taskset -c "$generator_core")
chrt -f 10 true 2>/dev/null || generator_prefix=(nice -n -15 taskset -c "$generator_core")

# raise_group PID: the scheduling autogroup of PID's session at nice -15,
# where the kernel allows it (root, autogroups on).
raise_group() {
	echo -15 2>/dev/null >"/proc/$1/autogroup" || true
}

# confab_start: a fresh confab serve on core 1; sets BRIDGE_PID and
# BRIDGE_ARGS (the generator's arguments), or WHY and fails.
confab_start() {
	local dir port
	if [[ ! -x $CONFAB ]]; then
		WHY="binary $CONFAB not found"
		return 1
	fi
	dir=$(mktemp -d "$work/confab.XXXXXX")
	port=$(free_ports 1 "$ADDR") || { WHY="no free port"; return 1; }
	"${bridge_prefix[@]}" timeout 600 "$CONFAB" serve --listen "$ADDR:$port" --domain "$DOMAIN" \
		--data "$dir/data" --directory "$work/users.csv" --log-level warn \
		</dev/null >"$dir/serve.log" 2>&1 &
	BRIDGE_PID=$!
	raise_group "$BRIDGE_PID"
	if ! wait_for_sip "$ADDR" "$port" 10; then
		WHY="confab serve did not answer OPTIONS: $(tail -n 1 "$dir/serve.log" | cut -c1-100)"
		stop_pid "$BRIDGE_PID"
		BRIDGE_PID=
		return 1
	fi
	BRIDGE_ARGS=(--bridge confab --sip "$ADDR:$port" --domain "$DOMAIN")
}

# janus_config DIR PORT: Janus's configuration, AudioBridge and HTTP only.
janus_config() {
	local dir=$1 port=$2
	mkdir -p "$dir"
	cat >"$dir/janus.jcfg" <<EOF
general: {
	configs_folder = "$dir"
	plugins_folder = "$JANUS_LIB/plugins"
	transports_folder = "$JANUS_LIB/transports"
	events_folder = "$JANUS_LIB/events"
	loggers_folder = "$JANUS_LIB/loggers"
	debug_level = 3
	session_timeout = 0
}
media: {
}
nat: {
	ice_enforce_list = "lo"
}
plugins: {
	disable = "libjanus_duktape.so,libjanus_echotest.so,libjanus_lua.so,libjanus_nosip.so,libjanus_recordplay.so,libjanus_sip.so,libjanus_streaming.so,libjanus_textroom.so,libjanus_videocall.so,libjanus_videoroom.so,libjanus_voicemail.so"
}
transports: {
	disable = "libjanus_mqtt.so,libjanus_nanomsg.so,libjanus_pfunix.so,libjanus_rabbitmq.so,libjanus_websockets.so"
}
loggers: {
	disable = "libjanus_jsonlog.so"
}
events: {
	broadcast = false
	disable = "libjanus_gelfevh.so,libjanus_mqttevh.so,libjanus_nanomsgevh.so,libjanus_rabbitmqevh.so,libjanus_sampleevh.so,libjanus_wsevh.so"
}
EOF
	# Plain-RTP participants' ports below the ephemeral range, where the
	# generator's own sockets are.
	cat >"$dir/janus.plugin.audiobridge.jcfg" <<EOF
general: {
	rtp_port_range = "20000-29999"
	local_ip = "$ADDR"
	events = false
}
EOF
	cat >"$dir/janus.transport.http.jcfg" <<EOF
general: {
	json = "plain"
	base_path = "/janus"
	http = true
	port = $port
	ip = "$ADDR"
	https = false
}
admin: {
	admin_http = false
}
EOF
}

# janus_start: a fresh Janus on core 1; sets BRIDGE_PID and BRIDGE_ARGS,
# or WHY and fails.
janus_start() {
	local dir port
	if ! command -v "$JANUS" >/dev/null; then
		WHY="$JANUS not installed"
		return 1
	fi
	dir=$(mktemp -d "$work/janus.XXXXXX")
	port=$(free_ports 1 "$ADDR") || { WHY="no free port"; return 1; }
	janus_config "$dir" "$port"
	# In its own directory: a Janus that crashes under load leaves its
	# core there, removed with the rest, not in the checkout.
	(cd "$dir" && exec "${bridge_prefix[@]}" timeout 600 "$JANUS" -F "$dir" -C "$dir/janus.jcfg" \
		</dev/null >"$dir/janus.log" 2>&1) &
	BRIDGE_PID=$!
	raise_group "$BRIDGE_PID"
	if ! python3 - "$ADDR" "$port" <<'PY'; then
import json, sys, time, urllib.request
url = f"http://{sys.argv[1]}:{sys.argv[2]}/janus"
deadline = time.monotonic() + 10
while time.monotonic() < deadline:
    try:
        body = json.dumps({"janus": "info", "transaction": "probe"}).encode()
        with urllib.request.urlopen(urllib.request.Request(url, body), timeout=1) as answer:
            if json.load(answer).get("janus") == "server_info":
                sys.exit(0)
    except OSError:
        time.sleep(0.2)
sys.exit(1)
PY
		WHY="Janus did not answer on HTTP: $(grep -v '^\s*$' "$dir/janus.log" | tail -n 1 | cut -c1-100)"
		stop_pid "$BRIDGE_PID"
		BRIDGE_PID=
		return 1
	fi
	BRIDGE_ARGS=(--bridge janus --janus "http://$ADDR:$port/janus")
}

# measure BRIDGE MODE OUTFILE ARGS...: starts the bridge, runs the
# generator, stops the bridge; OUTFILE gets the generator's JSON or
# {"skip": reason}.
measure() {
	local bridge=$1 mode=$2 file=$3 limit
	shift 3
	WHY=
	if ! "${bridge}_start"; then
		python3 -c 'import json,sys; print(json.dumps({"skip": sys.argv[1]}))' "$WHY" >"$file"
		return
	fi
	limit=$([[ $mode == capacity ]] && echo 420 || echo 90)
	# The bridge's pid is known only now.
	set -- "${@/#BRIDGE/$BRIDGE_PID}"
	if ! timeout "$limit" "${generator_prefix[@]}" "$RTPLOAD" "$mode" "${BRIDGE_ARGS[@]}" "$@" \
		>"$file" 2>"$file.log"; then
		python3 -c 'import json,sys; print(json.dumps({"skip": sys.argv[1]}))' \
			"the generator failed: $(grep -v '^  ' "$file.log" | tail -n 1 | cut -c1-160)" >"$file"
	fi
	stop_pid "$BRIDGE_PID"
	BRIDGE_PID=
}

if ! command -v "$JANUS" >/dev/null && [[ -x $root/scripts/setup-system.sh ]]; then
	echo "installing the peers (scripts/setup-system.sh)" >&2
	"$root/scripts/setup-system.sh" >&2 || true
fi
if [[ ! -x $RTPLOAD ]]; then
	echo "no load generator at $RTPLOAD (cargo build --release builds it)" >&2
fi

echo "bridge benchmark: $runs capacity and $delay_runs delay run(s), bridge on core $bridge_core, generator on core $generator_core" >&2
for ((i = 1; i <= (runs > delay_runs ? runs : delay_runs); i++)); do
	for bridge in janus confab; do
		((i <= runs)) || break
		if [[ $bridge == confab ]]; then start=250 max=$MAX_PARTICIPANTS; else start=16 max=1024; fi
		measure "$bridge" capacity "$work/capacity.$bridge.$i.json" --start "$start" --max "$max" \
			--settle "$settle" --window "$window" --resolution "$resolution" --tolerance "$tolerance" \
			--cpu-of BRIDGE
		echo "  run $i $bridge capacity: $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d.get("skip") or d["capacity"])' "$work/capacity.$bridge.$i.json")" >&2
	done
	for jitter in 0 20; do
		for bridge in janus confab; do
			((i <= delay_runs)) || break 2
			measure "$bridge" delay "$work/delay.$bridge.$jitter.$i.json" --participants 20 \
				--jitter-ms "$jitter" --seconds "$delay_seconds" --settle "$settle"
			echo "  run $i $bridge delay, jitter $jitter ms: $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d.get("skip") or d["median_ms"])' "$work/delay.$bridge.$jitter.$i.json") ms" >&2
		done
	done
done

confab_version=$("$CONFAB" --version 2>/dev/null | head -n 1 || true)
janus_version=$(dpkg-query -W -f='${Version}' janus 2>/dev/null || true)

python3 - "$work" "$runs" "$delay_runs" "${confab_version:-confab}" "${janus_version:-unknown}" \
	"$tolerance" "$MAX_PARTICIPANTS" "$settle" "$window" "$resolution" "$delay_seconds" \
	"$bridge_core" "$generator_core" "${generator_prefix[0]}" <<'PY' | tee "${out:-/dev/null}"
import json, os, statistics, sys
from pathlib import Path

def goal(*cells):
    """A row of the summary benches/peers/run puts at the top (lib.sh's goal)."""
    summary = os.environ.get("BENCH_SUMMARY")
    if summary:
        with open(summary, "a") as f:
            f.write("\t".join(str(c) for c in cells) + "\n")

(work, runs, delay_runs, confab_version, janus_version, tolerance, max_participants, settle,
 window, resolution, delay_seconds, bridge_core, generator_core, generator_sched) = sys.argv[1:]
work, runs, delay_runs, max_participants = Path(work), int(runs), int(delay_runs), int(max_participants)
label = {"janus": f"Janus AudioBridge {janus_version}", "confab": f"{confab_version} A/V MCU"}

def load(name):
    try:
        return json.loads((work / name).read_text())
    except (OSError, ValueError):
        return {"skip": "no result"}

def median(values):
    return statistics.median(values) if values else None

def ratio_range(confab, peer, places=2, prefix="", confab_high=None, peer_high=None):
    """lib.sh's ratio_range: from confab's lowest run over the peer's highest
    to confab's highest over the peer's lowest. confab_high and peer_high,
    when given, are the runs' upper ends (where a run knows its figure only
    within a range), in place of the runs' own figures at that end."""
    if not confab or not peer or not min(peer):
        return ""
    return (f"{prefix}{min(confab) / max(peer_high or peer):.{places}f} – "
            f"{prefix}{max(confab_high or confab) / min(peer):.{places}f} "
            f"({len(confab)} and {len(peer)} runs)")

def fmt(value, digits=1):
    return "-" if value is None else f"{value:,.{digits}f}"

def cpu_at_capacity(result):
    """The bridge's CPU in the passing window at the capacity found."""
    steps = [s for s in result["steps"] if s["pass"] and s["participants"] == result["capacity"]]
    if not steps or "bridge_cpu_share" not in steps[-1]:
        return None
    step = steps[-1]
    return step["bridge_cpu_share"], step["bridge_cpu_us_per_participant_frame"]

print("| bridge | participants on one core, no late frames (median) | every run | first count that failed, each run | bridge CPU at that count, each run: share of the core (µs per participant per 20 ms frame) | why each ramp stopped |")
print("|---|---:|---|---|---|---|")
capacity = {}
for bridge in ("janus", "confab"):
    results = [load(f"capacity.{bridge}.{i}.json") for i in range(1, runs + 1)]
    good = [r for r in results if "skip" not in r]
    skips = sorted({r["skip"] for r in results if "skip" in r})
    if not good:
        print(f"| {label[bridge]} | not measured | {'; '.join(skips)} | | | |")
        continue
    values = [r["capacity"] for r in good]
    capacity[bridge] = (median(values), good)
    at_max = all(r["first_failing"] is None for r in good)
    shown = fmt(median(values), 0)
    if at_max:
        shown = f"≥ {shown}"
    failing = ", ".join("none" if r["first_failing"] is None else str(r["first_failing"]) for r in good)
    why = "; ".join(sorted({r["limit"] + (" (generator behind its schedule)" if r["generator_limited"] else "") for r in good}))
    cpus = []
    for r in good:
        cpu = cpu_at_capacity(r)
        cpus.append("-" if cpu is None else f"{cpu[0]:.0%} ({cpu[1]:.1f})")
    print(f"| {label[bridge]} | {shown} | {', '.join(map(str, values))} | {failing} | {', '.join(cpus)} | {why} |")
print()
# A ramp knows a capacity to its bisection's resolution: at least the count
# that passed, less than the first that failed (if one did).
def passed(bridge):
    return [r["capacity"] for r in capacity[bridge][1]]

def upper_ends(bridge):
    return [r["first_failing"] or r["capacity"] for r in capacity[bridge][1]]

if "confab" in capacity and "janus" in capacity and capacity["janus"][0]:
    c, j = capacity["confab"][0], capacity["janus"][0]
    at_max = all(r["first_failing"] is None for r in capacity["confab"][1])
    ratio = c / j
    prefix = "≥ " if at_max else ""
    verdict = "met" if ratio >= 10 else ("not met" if not at_max else "not shown: confab's ramp stopped at its maximum first")
    print(f"confab / Janus, participants per core: {prefix}{ratio:.1f} (goal: at least 10; {verdict})")
    goal("Conference capacity on one core, no late frames", f"{prefix}{c:,.0f}", f"{j:,.0f} (Janus)",
         f"{prefix}{ratio:.1f}", "≥ 10", "met" if ratio >= 10 else "NOT met",
         ratio_range(passed("confab"), passed("janus"), 1, prefix, upper_ends("confab"), upper_ends("janus")))
else:
    print("confab / Janus, participants per core: not measured")
    goal("Conference capacity on one core, no late frames", "not measured", "", "", "≥ 10", "not measured")
if "confab" in capacity:
    c = capacity["confab"][0]
    print(f"confab, {max_participants:,} participants on this machine: {'met' if c >= max_participants else 'not met'} (median {c:,.0f}, on one core)")
    goal(f"Conference of {max_participants:,} participants on this machine", f"{c:,.0f} on one core", "", "",
         f"{max_participants:,}", "met" if c >= max_participants else "NOT met",
         "runs: " + ", ".join(f"{r['capacity']:,}" for r in capacity["confab"][1]))
print()

print("| bridge | jitter | transit delay, median of every impulse (ms) | p10 – p90 (ms) | each run's median (ms) | impulses heard |")
print("|---|---:|---:|---|---|---:|")
delays, run_delays = {}, {}
for jitter in ("0", "20"):
    for bridge in ("janus", "confab"):
        results = [load(f"delay.{bridge}.{jitter}.{i}.json") for i in range(1, delay_runs + 1)]
        good = [r for r in results if "skip" not in r and r.get("median_ms") is not None]
        if not good:
            skips = sorted({r.get("skip", "no impulse heard") for r in results})
            print(f"| {label[bridge]} | {jitter} ms | not measured | {'; '.join(skips)} | | |")
            continue
        every = sorted(d for r in good for d in r["delays_ms"])
        q = statistics.quantiles(every, n=10) if len(every) >= 2 else [every[0]] * 9
        heard = sum(r["heard"] for r in good)
        sent = sum(r["impulses"] for r in good)
        delays[(bridge, jitter)] = median(every)
        run_delays[(bridge, jitter)] = [r["median_ms"] for r in good]
        runs_shown = ", ".join(fmt(r["median_ms"]) for r in good)
        print(f"| {label[bridge]} | {jitter} ms | {fmt(median(every))} | {fmt(q[0])} – {fmt(q[-1])} | {runs_shown} | {heard} of {sent} |")
print()
for jitter in ("0", "20"):
    c, j = delays.get(("confab", jitter)), delays.get(("janus", jitter))
    if c is not None and j:
        verdict = "met" if c / j <= 0.25 else "not met"
        print(f"confab / Janus, transit delay with {jitter} ms of jitter: {c / j:.2f} (goal: at most 0.25; {verdict})")
        goal(f"Bridge transit delay, {jitter} ms of jitter", f"{c:.1f} ms", f"{j:.1f} ms (Janus)", f"{c / j:.2f}",
             "≤ 0.25" + (", ≤ 15 ms" if jitter == "0" else ""),
             "met" if c / j <= 0.25 and (jitter != "0" or c <= 15) else "NOT met",
             ratio_range(run_delays[("confab", jitter)], run_delays[("janus", jitter)]))
    else:
        print(f"confab / Janus, transit delay with {jitter} ms of jitter: not measured")
        goal(f"Bridge transit delay, {jitter} ms of jitter", "not measured", "", "", "≤ 0.25", "not measured")
c = delays.get(("confab", "0"))
if c is not None:
    print(f"confab, transit delay with no jitter: {c:.1f} ms (goal: at most 15 ms; {'met' if c <= 15 else 'not met'})")
print()
sched = "SCHED_FIFO (chrt -f 10)" if generator_sched == "chrt" else "nice -15"
print(f"{runs} capacity run(s) and {delay_runs} delay run(s), each bridge and measure alternating Janus then confab; each run a fresh bridge "
      f"process pinned to core {bridge_core} at nice -15 (its session's scheduling group too; confab's media "
      f"thread raises itself five steps more, to -20, as it does wherever it may) and the generator "
      f"(confab-rtpload) on core {generator_core} under {sched}. Participants: plain RTP/AVP Opus, 48 kHz mono, 20 ms, 32 kb/s, "
      f"complexity 5, FEC, encoded once and replayed; 3 talkers (a speech-like voice each), the rest a "
      f"-60 dBov noise floor; sending phases spread evenly over the 20 ms. Capacity: participants double "
      f"from 250 (confab) or 16 (Janus), then bisection to {float(resolution):.0%}, so a ramp knows a "
      f"capacity only to within that step (the goals' noise for capacity takes each ramp's first "
      f"failing count as its run's upper end); each count settles "
      f"{settle} s, then a {window} s window; a window passes with at most {float(tolerance):.1%} of frames "
      f"late (more than 20 ms behind the schedule of the stream's RTP timestamps from its earliest "
      f"packet, or never arrived). confab's ramp ends at {max_participants:,}, the most users a roster "
      f"holds. Bridge CPU: utime+stime of the bridge's processes and threads over the window. confab joins by SIP (a C3P-created conference, a media INVITE with digest per "
      f"participant), Janus by its HTTP API (one handle per participant, `join` with `rtp`, "
      f"`quality` 5, 32 kb/s, FEC, 5% expected loss, the room at 48 kHz, the plugin's default jitter "
      f"buffer). Transit delay: 20 participants, one sending a 1 kHz burst every second after "
      f"silence, one decoding its mix; {delay_seconds} s measured per run after {settle} s; the "
      f"sender's packets held back by a uniform random 0 or 0–20 ms (order kept); delay = the "
      f"burst's onset in the mix's arrival - its place in what was sent, timed as if sent with no "
      f"jitter (it includes the bridge's Opus re-encoding).")
PY
