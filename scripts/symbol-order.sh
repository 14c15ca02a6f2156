#!/usr/bin/env bash
# Writes link/symbol-order.txt: the functions the terminal client runs from
# start-up to signed in and idle, which build.rs has the linker place side
# by side at the start of .text in release builds (lld's
# --symbol-ordering-file).
#
# Why: the kernel maps a binary's code 64 kB around each page it faults
# in. Left in the compiler's order, the few megabytes a signed-in client
# runs are spread over almost all of the 8.5 MB of code, so nearly all of
# it ends up resident; placed together, only they are.
#
#   scripts/symbol-order.sh [--idle SECONDS]
#
# Runs the release client under valgrind's callgrind in a 120x40 tmux
# pane, signed in to a `confab serve --demo` of its own on loopback, left
# alone for SECONDS (default 35: one keep-alive), then quits it. Every
# function callgrind saw run is listed, in the order of the profiled
# binary (which keeps related code together). Symbol names carry a hash of
# the item, not of its body, so the list stays valid as code changes; it
# needs regenerating when functions are renamed or added to the start-up
# path, or with a new rustc. benches/peers/idle.sh reports how much of it
# the binary still matches.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
idle=35
while (($#)); do
	case "$1" in
	--idle) idle=${2:?}; shift 2 ;;
	*) echo "usage: $0 [--idle SECONDS]" >&2; exit 2 ;;
	esac
done
for tool in valgrind tmux python3 nm; do
	command -v "$tool" >/dev/null || { echo "symbol-order: $tool is needed" >&2; exit 1; }
done

cd "$root"
cargo build --release --bin confab
confab=$root/target/release/confab
work=$(mktemp -d "${TMPDIR:-/tmp}/confab-symbol-order.XXXXXX")
socket=confab-symbol-order-$$
port=$((20000 + $$ % 20000))
server_pid=
cleanup() {
	tmux -L "$socket" kill-server >/dev/null 2>&1 || true
	if [[ -n $server_pid ]]; then kill "$server_pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

timeout 600 "$confab" serve --demo --listen "127.0.0.1:$port" --domain confab.local \
	--data "$work/server" --log-level warn </dev/null >"$work/server.log" 2>&1 &
server_pid=$!

# The client's data, state and config live in $work, so it starts as a
# returning user with nothing of the caller's.
tmux -L "$socket" new-session -d -x 120 -y 40 \
	"env XDG_DATA_HOME=$work/data XDG_STATE_HOME=$work/state XDG_CONFIG_HOME=$work/config \
	CONFAB_PASSWORD=vivian timeout --foreground 600 valgrind --tool=callgrind --demangle=no \
	--callgrind-out-file=$work/callgrind.out $confab --server 127.0.0.1:$port --user vivian \
	--audio-in silence --audio-out null 2>$work/valgrind.log"

signed_in=
for _ in $(seq 120); do
	screen=$(tmux -L "$socket" capture-pane -p 2>/dev/null || true)
	if [[ $screen == *"Signed in"* ]]; then
		signed_in=1
		break
	fi
	sleep 1
done
[[ -n $signed_in ]] || { echo "symbol-order: the client did not sign in within 120 s" >&2; exit 1; }
sleep "$idle"
# q quits; a confirmation, if one is asked, takes y.
tmux -L "$socket" send-keys q
sleep 1
tmux -L "$socket" send-keys y 2>/dev/null || true
for _ in $(seq 60); do
	[[ -s $work/callgrind.out ]] && ! tmux -L "$socket" has-session 2>/dev/null && break
	sleep 1
done
[[ -s $work/callgrind.out ]] || { echo "symbol-order: no callgrind output" >&2; exit 1; }

mkdir -p link
python3 - "$work/callgrind.out" "$confab" link/symbol-order.txt "$idle" <<'EOF'
import re
import subprocess
import sys

profile, binary, out, idle = sys.argv[1:5]
ran = set()
with open(profile) as lines:
    for line in lines:
        # callgrind names a function once, with its number: fn=(12) name
        found = re.match(r"^c?fn=\(\d+\) (.+)$", line)
        if found:
            ran.add(found.group(1).strip())
symbols = subprocess.run(["nm", "--defined-only", binary], capture_output=True, text=True, check=True)
at = {}
for line in symbols.stdout.splitlines():
    fields = line.split()
    if len(fields) == 3 and fields[1] in "tTwW":
        at.setdefault(fields[2], int(fields[0], 16))
ordered = sorted((at[name], name) for name in ran if name in at)
with open(out, "w") as file:
    file.write(
        "# Written by scripts/symbol-order.sh: the functions the terminal client\n"
        f"# runs from start-up to signed in and {idle} s idle, for lld's\n"
        "# --symbol-ordering-file (see build.rs). Regenerate rather than edit.\n"
    )
    file.writelines(name + "\n" for _, name in ordered)
print(f"symbol-order: {len(ordered)} functions written to {out}")
EOF
