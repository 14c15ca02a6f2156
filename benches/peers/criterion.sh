#!/usr/bin/env bash
# The in-process benchmarks (criterion), as sections of docs/BENCHMARKS.md:
# the conference mixer against a naive mixer and the codec floor
# (benches/mixer.rs), and the terminal UI's frame (benches/tui.rs).
#
#   benches/peers/criterion.sh [--quick] [--out FILE] [--save DIR]
#                              [--earlier DIR]
#
# Runs `cargo bench --bench mixer` and `--bench tui`, reads criterion's
# estimates (the median of the samples, and its 95% confidence interval
# as the spread) and writes the markdown, and a summary row per goal
# (lib.sh's `goal`).
# --quick shortens criterion's measurement times (noisier figures).
# --save DIR runs the benches and keeps their estimates in DIR, writing
# nothing else: a first pass. --earlier DIR takes such a pass into the
# goals' noise: from the lower of the two passes' lower bounds to the
# higher of their upper bounds. A confidence interval says how well one
# pass knows its median, not how far the machine moves between passes:
# benches/peers/run makes its first pass before the other benchmarks and
# its second after them, an hour apart.
# Environment: CARGO (default cargo), CARGO_TARGET_DIR.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"
CARGO=${CARGO:-cargo}
criterion_dir=${CARGO_TARGET_DIR:-$root/target}/criterion

quick=0 out='' save='' earlier=''
while (($#)); do
	case "$1" in
	--quick) quick=1; shift ;;
	--out) out=${2:?}; shift 2 ;;
	--save) save=${2:?}; shift 2 ;;
	--earlier) earlier=${2:?}; shift 2 ;;
	-h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "unknown argument $1" >&2; exit 2 ;;
	esac
done
if [[ -n $save ]]; then
	mkdir -p "$save"
	save=$(cd "$save" && pwd)
	case "$save/" in
	"$(realpath -m "$criterion_dir")"/*)
		echo "--save $save: not inside criterion's own directory, which each pass clears" >&2
		exit 2 ;;
	esac
fi
# An earlier pass that measured nothing (it failed) is no pass.
[[ -n $earlier && -n $(find "$earlier" -name estimates.json -print -quit 2>/dev/null) ]] || earlier=''

work=$(mktemp -d "${TMPDIR:-/tmp}/confab-bench-criterion.XXXXXX")
trap 'rm -rf "$work"' EXIT

args=(--noplot)
((quick)) && args+=(--warm-up-time 0.5 --measurement-time 1)

bench() { # bench NAME: runs it, its stderr kept in $work/NAME.err
	echo "cargo bench --bench $1" >&2
	if ! (cd "$root" && timeout 900 "$CARGO" bench --quiet --bench "$1" -- "${args[@]}") \
		>"$work/$1.out" 2>"$work/$1.err"; then
		echo "cargo bench --bench $1 failed: $(tail -n 1 "$work/$1.err")" >&2
		return 1
	fi
}

# estimate DIR [ROOT]: "MEDIAN LOW HIGH" in nanoseconds from criterion's
# estimates.json under ROOT (default this pass's, criterion's own
# directory), or nothing when the benchmark did not run.
estimate() {
	local file=${2:-$criterion_dir}/$1/new/estimates.json
	[[ -s $file ]] || return 0
	python3 - "$file" <<-'EOF'
		import json, sys
		median = json.load(open(sys.argv[1]))["median"]
		interval = median["confidence_interval"]
		print(median["point_estimate"], interval["lower_bound"], interval["upper_bound"])
	EOF
}

# human NANOSECONDS: "507 µs", "10.77 ms".
human() {
	awk -v ns="$1" 'BEGIN {
		if (ns >= 1e6) printf "%.2f ms", ns / 1e6;
		else if (ns >= 1e4) printf "%.0f µs", ns / 1e3;
		else printf "%.1f µs", ns / 1e3 }'
}

# span LOW HIGH: "495–520 µs", the unit said once.
span() { echo "$(human "$1" | sed 's/ .*//')–$(human "$2")"; }

# cell DIR [ROOT]: "507 µs (495–520 µs)" from the median and its interval.
cell() {
	local median low high
	read -r median low high < <(estimate "$@") || true
	if [[ -z ${median:-} ]]; then
		echo "not measured"
		return
	fi
	echo "$(human "$median") ($(span "$low" "$high"))"
}

# median_of DIR [ROOT]: the median alone, of this pass or of ROOT's.
median_of() { local median _; read -r median _ < <(estimate "$@") || true; echo "${median:-}"; }

# The passes the goals' noise spans: this one, and the earlier one if any.
passes=("$criterion_dir")
[[ -n $earlier ]] && passes+=("$earlier")
# passes_said N [CIS]: how the noise of N passes is named; CIS is the
# word for one pass's (default "CI").
passes_said() { (($1 > 1)) && echo "95% CIs of $1 passes" || echo "95% ${2:-CI}"; }

# bounds DIR: "LOW HIGH N", the lowest lower bound and the highest upper
# bound of DIR's intervals over the N passes that measured it; nothing if
# none did.
bounds() {
	local pass _ low high
	for pass in "${passes[@]}"; do
		read -r _ low high < <(estimate "$1" "$pass") || continue
		echo "$low $high"
	done | awk 'NR == 1 || $1 < low { low = $1 } NR == 1 || $2 > high { high = $2 }
		END { if (NR) print low, high, NR }'
}

# interval DIR: "495–520 µs (95% CIs of 2 passes)", the summary's noise.
interval() {
	local low high n
	read -r low high n < <(bounds "$1") || true
	[[ -n ${low:-} ]] && echo "$(span "$low" "$high") ($(passes_said "$n"))"
}

# ratio_interval A B: A / B at the ends of the intervals, lowest A over
# highest B to highest A over lowest B ("20.1 – 22.3 (95% CIs)").
ratio_interval() {
	local a_low a_high a_n b_low b_high b_n
	read -r a_low a_high a_n < <(bounds "$1") || true
	read -r b_low b_high b_n < <(bounds "$2") || true
	[[ -n ${a_low:-} && -n ${b_low:-} ]] || return 0
	awk -v al="$a_low" -v ah="$a_high" -v bl="$b_low" -v bh="$b_high" \
		-v said="$(passes_said $((a_n < b_n ? a_n : b_n)) CIs)" \
		'BEGIN { printf "%.2f – %.2f (%s)\n", al / bh, ah / bl, said }'
}

ratio() { # ratio A B: A/B to two figures, or "–"
	if [[ -n $1 && -n $2 ]]; then awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; else echo "–"; fi
}

rm -rf "$criterion_dir"/mixer_* "$criterion_dir"/tui_*
mixer_ok=1 tui_ok=1
bench mixer || mixer_ok=0
bench tui || tui_ok=0
# cargo bench builds the package's binaries in its own profile, without
# the link order of release builds (their symbols' names differ), and
# leaves them in target/release in place of the release ones. `cargo build
# --release` puts those back (already built, it only links them there),
# so that benchmarks run after this pass measure what a release build ships.
(cd "$root" && "$CARGO" build --release --quiet) >"$work/release.err" 2>&1 ||
	echo "cargo build --release after the benches failed: $(tail -n 1 "$work/release.err")" >&2
if [[ -n $save ]]; then
	# Only the estimates: what estimate reads. A failed bench fails the pass.
	(cd "$save" && rm -rf mixer_* tui_*)
	(cd "$criterion_dir" && find mixer_* tui_* -path '*/new/estimates.json' -exec cp --parents {} "$save" \;) 2>/dev/null || true
	((mixer_ok && tui_ok))
	exit
fi

second_pass_said() {
	[[ -z $earlier ]] || echo "The tables of this section are from the second pass, after the other benchmarks."
}

mixer_section() {
	echo "## Conference mixer: CPU per 20 ms frame"
	echo
	echo "\`cargo bench --bench mixer\` (criterion; \`benches/mixer.rs\` says how the input is"
	echo "made): one conference of N Opus participants of whom 3 talk (a speech-like voice each)"
	echo "and the rest send a quiet room's noise floor, at 32 kb/s with FEC; and one of 100 with"
	echo "every third participant on PCMU instead, one of the talkers among them. Three ways in"
	echo "the same run:"
	echo
	echo "- **naive**: decode everyone, and for each listener mix the other N-1 and encode on"
	echo "  that listener's own encoder, in its codec;"
	echo "- **mixer**: \`media::mixer::Mixer\`, pushed every participant's packet and drained of"
	echo "  every listener's payload;"
	echo "- **floor**: the codec work no N-1 mixer can avoid: decode the 3 talkers, encode the"
	echo "  full mix once per codec in use and each talker's mix-minus-self in its codec, and"
	echo "  the sums."
	echo
	echo "Each cell is criterion's median with its 95% confidence interval; 20 ms of audio a"
	echo "frame, so 200 µs is 1% of a core."
	second_pass_said
	echo
	if ((!mixer_ok)); then
		echo "Not measured: \`cargo bench --bench mixer\` failed ($(tail -n 1 "$work/mixer.err"))."
		return
	fi
	echo "| participants | naive | mixer | floor | naive / mixer | mixer / floor |"
	echo "|---:|---:|---:|---:|---:|---:|"
	local case label naive mixer floor
	for case in 10 100 1000 100-mixed; do
		label=${case/1000/1,000}
		label=${label/-mixed/, a third on PCMU}
		naive=$(median_of "mixer_$case/naive")
		mixer=$(median_of "mixer_$case/mixer")
		floor=$(median_of "mixer_$case/floor")
		echo "| $label | $(cell "mixer_$case/naive") | $(cell "mixer_$case/mixer") | $(cell "mixer_$case/floor") | $(ratio "$naive" "$mixer") | $(ratio "$mixer" "$floor") |"
	done
	naive=$(median_of mixer_100/naive)
	mixer=$(median_of mixer_100/mixer)
	floor=$(median_of mixer_100/floor)
	echo
	local met
	met=$(awk -v n="$(ratio "$naive" "$mixer")" -v f="$(ratio "$mixer" "$floor")" \
		'BEGIN { print (n >= 10 && f <= 1.2) ? "met" : "NOT met" }' 2>/dev/null || echo "NOT met")
	echo "Goal (the conferencing issue): at 100 participants at least 10 times cheaper than"
	echo "naive and within 1.2 times the floor: **$met** ($(ratio "$naive" "$mixer")× and"
	echo "$(ratio "$mixer" "$floor")×)."
	local first_mixer
	first_mixer=$([[ -z $earlier ]] || median_of mixer_100/mixer "$earlier")
	if [[ -n $first_mixer ]]; then
		echo
		echo "The first pass, before the other benchmarks: at 100 participants naive / mixer"
		echo "$(ratio "$(median_of mixer_100/naive "$earlier")" "$first_mixer"), the mixer $(human "$first_mixer")."
	fi
	goal "Mixer, 100 participants: naive / mixer" "$(human "$mixer")" "$(human "$naive")" \
		"$(ratio "$naive" "$mixer")" "≥ 10, mixer ≤ 1.2 × floor" "$met" \
		"$(ratio_interval mixer_100/naive mixer_100/mixer)"
}

tui_section() {
	echo "## Terminal UI: render time per frame, bytes per meter update"
	echo
	echo "\`cargo bench --bench tui\` (criterion; \`benches/tui.rs\` builds the screen through"
	echo "\`update\`, as the run loop would): a 120x40 terminal showing 500 contacts in five"
	echo "groups, a joined conference of 50 that we lead with its roster and our audio as this"
	echo "terminal's call, and the conference's IM open with 200 messages. Four measures:"
	echo
	echo "- **render**: \`tui::render\` alone into the frame's buffer, then the buffer cleared,"
	echo "  as \`Terminal::draw\` clears it for the next frame;"
	echo "- **draw, unchanged**: \`Terminal::draw\` of the same state again over a backend that"
	echo "  discards what it is given: the render and ratatui's diff of the two buffers;"
	echo "- **draw, meter update**: \`update\` with new levels, then \`Terminal::draw\` over the"
	echo "  discarding backend;"
	echo "- **draw, meter update, crossterm**: the same over ratatui's crossterm backend writing"
	echo "  to a byte counter, so the escape sequences are encoded too."
	second_pass_said
	echo
	if ((!tui_ok)); then
		echo "Not measured: \`cargo bench --bench tui\` failed ($(tail -n 1 "$work/tui.err"))."
		return
	fi
	echo "| measure | median (95% interval) | goal |"
	echo "|---|---:|---|"
	local render draw met
	render=$(median_of tui_120x40/render)
	draw=$(median_of tui_120x40/draw_unchanged)
	echo "| render | $(cell tui_120x40/render) | under 100 µs |"
	echo "| draw, unchanged | $(cell tui_120x40/draw_unchanged) | |"
	echo "| draw, meter update | $(cell tui_120x40/draw_meters) | |"
	echo "| draw, meter update, crossterm | $(cell tui_120x40/draw_meters-crossterm) | |"
	echo
	local bytes
	bytes=$(grep -m1 '^tui 120x40: first frame' "$work/tui.err" | sed 's/^tui 120x40: //' || true)
	echo "Bytes written by the crossterm backend: ${bytes:-not reported}."
	echo
	met=$(awk -v r="${render:-1e12}" 'BEGIN { print (r < 100000) ? "met" : "NOT met" }')
	echo "Goal: under 100 µs a frame: **$met** for the render ($(human "${render:-0}")); the whole"
	echo "draw, with ratatui's diff of the two 4,800-cell buffers, takes $(human "${draw:-0}")."
	echo "No redraw when nothing changes: the run loop draws only after an update that asks"
	echo "for it (\`tui::tests::redraw\`, \`tui::tests::call_stats\`); the bench's last figure"
	echo "above says whether a meter report equal to the last asks for a frame."
	if [[ -n $earlier && -n $(median_of tui_120x40/render "$earlier") ]]; then
		echo
		echo "The first pass, before the other benchmarks: render $(cell tui_120x40/render "$earlier")."
	fi
	goal "TUI frame at 120x40 (render)" "$(human "${render:-0}")" "" "" "< 100 µs" "$met" \
		"$(interval tui_120x40/render)"
}

{
	mixer_section
	echo
	tui_section
} | tee "${out:-/dev/null}"
