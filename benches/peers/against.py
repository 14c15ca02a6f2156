"""The goals of one run against those of another.

    python3 benches/peers/against.py PREVIOUS.md THIS.md

Each file is a docs/BENCHMARKS.md, or anything holding its "## Goals"
table (what, confab, peer, ratio, noise, goal, verdict). `run` passes the
table it is about to overwrite and this run's goals; by hand, pass the
committed table and a rerun's (BENCHMARKS_MD=elsewhere benches/peers/run).
Prints a markdown section: for each goal both runs have, both figures (the
ratio, or confab's figure where a goal has none), whether this run's figure
lies within the noise the previous table states, and the reverse. The
noise of one run cannot show how far the machine drifts between runs hours
apart; this puts that drift on record, run after run. Prints nothing when
there is no previous table.
"""
import re
import sys

NUMBER = r"[\d][\d,]*(?:\.\d+)?"


def number(text):
    """The figure a cell starts with: '0.71', '≥ 31.2', '83 µs'; not 'n/a (0.00 against 0)'."""
    match = re.match(rf"\s*≥?\s*({NUMBER})", text or "")
    return float(match.group(1).replace(",", "")) if match else None


def noise_range(text):
    """'0.62 – 0.81 (5 and 5 runs)', '≥ 20.8 – ≥ 31.2 (...)', '83–84 µs (...)'."""
    match = re.match(rf"\s*≥?\s*({NUMBER})\s*[–-]\s*≥?\s*({NUMBER})", text or "")
    if not match:
        return None
    return tuple(float(g.replace(",", "")) for g in match.groups())


def goals(path):
    """what -> (shown, figure, noise) from a table's goals; and when it started."""
    try:
        lines = open(path, encoding="utf-8").read().splitlines()
    except OSError:
        return {}, None
    started = next((m.group(1) for l in lines if (m := re.search(r"started (.+? UTC)", l))), None)
    rows, inside = {}, False
    for line in lines:
        if line.startswith("## "):
            inside = line == "## Goals"
            continue
        if not inside or not line.startswith("| ") or line.startswith("| what "):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 7:
            continue
        what, confab, _peer, ratio, noise = cells[:5]
        shown = ratio or confab
        rows[what] = (shown, number(shown), noise)
    return rows, started


def within(figure, noise):
    span = noise_range(noise)
    if figure is None:
        return "no figure"
    if span is None:
        return "no range to read it against"
    return "within" if span[0] <= figure <= span[1] else "**outside**"


def main(previous_path, this_path):
    previous, started = goals(previous_path)
    this, _ = goals(this_path)
    rows = []
    for what, (shown, figure, noise) in this.items():
        if what not in previous:
            continue
        earlier_shown, earlier, earlier_noise = previous[what]
        rows.append(
            f"| {what} | {earlier_shown} | {earlier_noise} | {shown} | {noise} "
            f"| {within(figure, earlier_noise)} | {within(earlier, noise)} |"
        )
    if not rows:
        return
    print("## Against the previous table")
    print()
    print(f"The table this run replaced{f' (started {started})' if started else ''}: each goal's figure")
    print("and noise then and now; whether this run's figure lies within the noise the previous")
    print("table states, and the previous figure within this run's. A figure outside says the")
    print("machine, or the code, moved between the two runs by more than one run's spread shows.")
    print()
    print("| what | previous | its noise | this run | this run's noise "
          "| this run within the previous noise | the previous within this run's |")
    print("|---|---:|---|---:|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
