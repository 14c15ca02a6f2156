#!/usr/bin/env bash
# Sound devices for a machine without a sound card (CI, containers): the
# ALSA `file` plugin over `null`, no daemon (DEPENDENCIES.md, "cpal without a
# sound card"). Writes DIR/alsa/asoundrc defining
#   test_out  playback; what is played lands in DIR/out.raw
#   test_in   capture; reads DIR/in.raw, looping
#   default   test_out for playback, test_in for capture
# All raw files are S16_LE at the rate and channel count the stream opens
# (confab opens 48 kHz mono). DIR/in.raw is left alone when it exists, else
# it gets one second of a 1 kHz tone (sox) or of silence (no sox).
# ALSA then runs faster than real time: wait for frames, never for time.
#
#   scripts/test-audio-devices.sh DIR
#   XDG_CONFIG_HOME=DIR confab doctor        # or any confab command
#
# XDG_CONFIG_HOME also moves confab's own config file into DIR; the
# integration tests (tests/it/audio_devices.rs) run in child processes so
# the variable never reaches other tests.
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
case "$1" in
*\"* | *\\*) echo "test-audio-devices: DIR must not contain quotes or backslashes" >&2; exit 2 ;;
esac
mkdir -p "$1/alsa"
dir=$(cd "$1" && pwd)

cat >"$dir/alsa/asoundrc" <<CONF
pcm.test_out {
	type file
	slave.pcm "null"
	file "$dir/out.raw"
	format "raw"
	truncate true
	hint { show on description "confab test output (file $dir/out.raw)" }
}
pcm.test_in {
	type file
	slave.pcm "null"
	file "$dir/in_copy.raw"
	infile "$dir/in.raw"
	format "raw"
	truncate true
	hint { show on description "confab test input (file $dir/in.raw)" }
}
pcm.!default {
	type asym
	playback.pcm "test_out"
	capture.pcm "test_in"
	hint { show on description "confab test devices" }
}
CONF

if [ ! -e "$dir/in.raw" ]; then
	if command -v sox >/dev/null; then
		sox -n -r 48000 -c 1 -b 16 -e signed-integer -t raw "$dir/in.raw" synth 1 sine 1000 vol 0.25
	else
		head -c 96000 /dev/zero >"$dir/in.raw"
	fi
fi
echo "XDG_CONFIG_HOME=$dir"
