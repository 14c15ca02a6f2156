"""The goals of this run against those of the table it replaces.

    python3 benches/peers/against.py PREVIOUS.md SUMMARY.tsv

PREVIOUS.md is the docs/BENCHMARKS.md a run is about to overwrite;
SUMMARY.tsv is this run's goals (lib.sh's `goal`: what, confab, peer,
ratio, goal, verdict, noise). Prints a markdown section: for each goal
both runs have, the previous figure (its ratio, or confab's figure where a
goal has none) and whether it lies within the noise this run states. The
noise of one run cannot show how far the machine drifts between runs hours
apart; this puts that drift on record, run after run. Prints nothing when
there is no previous table.
"""
import re
import sys

NUMBER = r"[\d][\d,]*(?:\.\d+)?"


def number(text):
    match = re.search(NUMBER, text or "")
    return float(match.group().replace(",", "")) if match else None


def noise_range(text):
    """'0.62 – 0.81 (5 and 5 runs)', '≥ 20.8 – ≥ 31.2 (...)', '83–84 µs (...)'."""
    match = re.match(rf"\s*≥?\s*({NUMBER})\s*[–-]\s*≥?\s*({NUMBER})", text or "")
    if not match:
        return None
    return tuple(float(g.replace(",", "")) for g in match.groups())


def previous_goals(path):
    """what -> (figure, started) from the previous table's goals."""
    try:
        lines = open(path, encoding="utf-8").read().splitlines()
    except OSError:
        return {}, None
    started = next((m.group(1) for l in lines if (m := re.search(r"started (.+? UTC)", l))), None)
    goals, inside = {}, False
    for line in lines:
        if line.startswith("## "):
            inside = line == "## Goals"
            continue
        if not inside or not line.startswith("| ") or line.startswith("| what "):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 6:
            continue
        what, confab, _peer, ratio = cells[:4]
        goals[what] = (ratio or confab, number(ratio) if ratio else number(confab))
    return goals, started


def main(previous_path, summary_path):
    goals, started = previous_goals(previous_path)
    if not goals:
        return
    rows = []
    for line in open(summary_path, encoding="utf-8"):
        cells = line.rstrip("\n").split("\t")
        if len(cells) < 7 or cells[0] not in goals:
            continue
        what, confab, _peer, ratio, _goal, _verdict, noise = cells[:7]
        shown, figure = goals[what]
        span = noise_range(noise)
        if figure is None or span is None:
            verdict = "no range to read it against"
        elif span[0] <= figure <= span[1]:
            verdict = "within"
        else:
            verdict = "**outside**"
        rows.append(f"| {what} | {shown} | {ratio or confab} | {noise} | {verdict} |")
    if not rows:
        return
    print("## Against the previous table")
    print()
    print(f"The table this run replaced{f' (started {started})' if started else ''}: each goal's figure")
    print("then, and whether it lies within the noise this run states. A figure outside says the")
    print("machine, or the code, moved between the two runs by more than one run's spread shows.")
    print()
    print("| what | previous | this run | this run's noise | previous within it |")
    print("|---|---:|---:|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
