#!/usr/bin/env bash
# Installs the Debian 12 packages that confab's build, tests and peer
# benchmarks need. Idempotent: when every package is already installed it
# does nothing (and touches no network). Quiet unless something fails.
# Runs apt-get as root, through sudo when not root.
#
#   build-essential pkg-config cmake   the Rust crates' C parts (bundled
#                                      SQLite, Opus)
#   libasound2-dev                     cpal's ALSA backend (audio)
#   sip-tester                         sipp, for tests/sipp and benches/peers
#   kamailio                           the reference registrar and proxy
#                                      (benches/peers/kamailio/registrar.cfg
#                                      uses only modules of this package:
#                                      tm sl rr pv maxfwd textops siputils
#                                      xlog sanity usrloc registrar auth
#                                      htable db_text cfgutils kex corex)
#   baresip                            the reference SIP client for
#                                      benches/peers/call.sh and idle.sh
#                                      (without the recommended GUI and
#                                      video packages: only baresip-core's
#                                      modules, with ausine and aubridge
#                                      standing in for a sound card)
#   linphone-cli                       linphonec, a real phone for
#                                      tests/it/linphone.rs (calls both
#                                      ways, Opus audio from and to WAV
#                                      files; its dependencies come with it)
#                                      and the idle peer of idle.sh
#   janus                              Janus AudioBridge, the reference
#                                      conference bridge for
#                                      benches/peers/bridge.sh (plain-RTP
#                                      participants; the script writes its
#                                      own configuration and starts it on
#                                      loopback)
#   tmux                               side-by-side demo sessions, the TUI
#                                      tests, and idle.sh's terminals
#   sox espeak-ng                      test audio and demo voices
#   pulseaudio pulseaudio-utils        real-time paced sound devices without
#   libasound2-plugins                 a sound card: tests/it/audio_pulse.rs
#                                      runs private daemons with null sinks
#                                      (pactl, parec), and the pulse ALSA
#                                      plugin makes them ALSA's `default`
#                                      for cpal
#   python3 procps                     tests/sipp/garbage.py; ps for the
#                                      benchmarks' CPU accounting
#   + shellcheck                       lints these scripts
set -euo pipefail

packages=(
	build-essential pkg-config cmake libasound2-dev
	sip-tester kamailio baresip linphone-cli janus
	tmux sox espeak-ng
	pulseaudio pulseaudio-utils libasound2-plugins
	python3 procps shellcheck
)

installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

missing=()
for p in "${packages[@]}"; do
	installed "$p" || missing+=("$p")
done
((${#missing[@]})) || exit 0

if ((EUID == 0)); then
	as_root=()
elif command -v sudo >/dev/null; then
	as_root=(sudo)
else
	echo "setup-system: need root (or sudo) to install: ${missing[*]}" >&2
	exit 1
fi

had_kamailio=no had_janus=no
installed kamailio && had_kamailio=yes
installed janus && had_janus=yes

log=$(mktemp "${TMPDIR:-/tmp}/setup-system.XXXXXX")
trap 'rm -f "$log"' EXIT
export DEBIAN_FRONTEND=noninteractive
if ! { "${as_root[@]}" apt-get update -q &&
	"${as_root[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
	cat "$log" >&2
	echo "setup-system: installing ${missing[*]} failed" >&2
	exit 1
fi

# On a systemd host the package starts a system-wide Kamailio on port 5060,
# where confab listens by default; the tests and benchmarks start their own
# on other ports. Stop and disable the one this run installed.
if [[ $had_kamailio == no ]] && [[ -d /run/systemd/system ]] &&
	systemctl is-enabled --quiet kamailio.service 2>/dev/null; then
	"${as_root[@]}" systemctl disable --now --quiet kamailio.service
	echo "setup-system: stopped and disabled the kamailio system service (it held port 5060)"
fi

# The same for Janus (its HTTP transport on 8088, which the benchmark
# does not use: it runs its own on loopback).
if [[ $had_janus == no ]] && [[ -d /run/systemd/system ]] &&
	systemctl is-enabled --quiet janus.service 2>/dev/null; then
	"${as_root[@]}" systemctl disable --now --quiet janus.service
	echo "setup-system: stopped and disabled the janus system service"
fi
