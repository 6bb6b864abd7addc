"""Draw the figures of docs/results.md from the sweeps of the paper's experiments.

    for f in scenarios/paper/fig*.toml; do ...; protosim sweep $f --vary c=... --repeat 5 \
        --out runs/paper/$(basename $f .toml); done          (the commands: docs/results.md)
    python scenarios/paper/make_figures.py --runs runs/paper --out docs/img/results

It reads each sweep's results.json (one row per grid point: the overrides c and seed, the
run's bits, and the protocol's outputs, among them ``cost``), groups the rows by c, and draws,
per figure, the mean clustering cost and the mean total communication against c with the
standard deviation over the seeds as error bars. It re-runs one point (EAS at c = 20, seed 1)
of Fig. 6 to draw the clustering as a scatter plot. It prints the tables of docs/results.md
(mean ± standard deviation per c, and our ratios beside the paper's) as Markdown.
Nothing here is hard-coded but the paper's stated ratios, which are quoted, not used.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import numpy as np

FIGURES = {
    "fig5": ("Fig. 5 — digits, blackboard", "fig5_digits_blackboard", ["mp", "as", "eas"]),
    "fig6": ("Fig. 6 — 5 Gaussians in 2-D (512,000 points), blackboard", "fig6_gaussian2d_blackboard", ["mp", "as", "eas"]),
    "fig7": ("Fig. 7 — digits, coordinator, d' = 16", "fig7_digits_coordinator", ["as", "as_jl", "eas_jl"]),
    "figF2": ("Fig. F.2 — 3 Gaussians in 8-D, coordinator, d' = 4", "figF2_gaussian8d_coordinator", ["as", "as_jl", "eas_jl"]),
}
LABEL = {"mp": "MP", "as": "AS", "eas": "EAS", "as_jl": "AS-JL", "eas_jl": "EAS-JL"}
STYLE = {"mp": ("tab:red", "s"), "as": ("tab:blue", "o"), "eas": ("tab:green", "^"), "as_jl": ("tab:purple", "D"),
         "eas_jl": ("tab:orange", "v")}

# The paper's statements (Appendix F), quoted beside our numbers; (c, figure, statement).
PAPER_CLAIMS = {
    "fig7": [(11, "cost EAS-JL / AS", "about 1.07"), (11, "bits AS / EAS-JL", "about 9"),
             (20, "cost EAS-JL / AS", "about 1.07"), (20, "bits AS / EAS-JL", "about 9")],
    "figF2": [(5, "cost EAS-JL / AS", "almost equal"), (5, "bits AS / EAS-JL", "more than 4"),
              (10, "cost EAS-JL / AS", "almost equal"), (10, "bits AS / EAS-JL", "almost 8")],
}


def load(runs: Path, stem: str, proto: str) -> dict[float, list[dict]]:
    """Rows of one sweep grouped by c (rows with an error are reported and left out)."""
    path = runs / f"{stem}_{proto}" / "results.json"
    if not path.exists():
        raise FileNotFoundError(f"{path}: run the sweep of scenarios/paper/{stem}_{proto}.toml first")
    rows = json.loads(path.read_text())
    by_c: dict[float, list[dict]] = {}
    for row in rows:
        if row.get("error"):
            print(f"warning: {path}: {row['overrides']}: {row['error']}", file=sys.stderr)
            continue
        c = next(v for k, v in row["overrides"].items() if k.endswith(".c") or k == "c")
        by_c.setdefault(float(c), []).append(row)
    return dict(sorted(by_c.items()))


def stats(rows: list[dict], key: str) -> tuple[float, float, int]:
    vals = [float(r[key]) for r in rows]
    return statistics.fmean(vals), (statistics.stdev(vals) if len(vals) > 1 else 0.0), len(vals)


def plot_figure(fig_key: str, data: dict, out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    title, stem, protos = FIGURES[fig_key]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for proto in protos:
        by_c = data[proto]
        cs = list(by_c)
        color, marker = STYLE[proto]
        for ax, key in zip(axes, ("cost", "bits")):
            m = [stats(by_c[c], key) for c in cs]
            ax.errorbar(cs, [a for a, _, _ in m], yerr=[b for _, b, _ in m], color=color, marker=marker,
                        capsize=3, label=LABEL[proto])
    axes[0].set_title("clustering cost (k-means, mean ± sd over seeds)")
    axes[1].set_title("total communication (information bits)")
    axes[1].set_yscale("log")
    for ax in axes:
        ax.set_xlabel("sampling coefficient c")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    path = out / f"{stem}.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def scatter_fig6(out: Path, c: float = 20.0, seed: int = 1) -> Path:
    """Re-run EAS of Fig. 6 at one point and draw its clustering (a 25,000-point subsample)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from protocols.clustering import assign
    from protosim.datasets import make_dataset
    from protosim.scenario import Scenario

    source = Path(__file__).with_name("fig6_gaussian2d_blackboard_eas.toml")
    scenario = Scenario.load(source, {"protocol.params.c": c, "seed": seed})
    result, _ = scenario.run()
    spec = dict(scenario.data["dataset"])
    X = make_dataset({k: v for k, v in spec.items() if k != "seed"}, spec.get("seed", scenario.seed)).X
    C = np.asarray(result.output["centers"])
    rng = np.random.default_rng(0)
    sub = X[rng.choice(len(X), size=25000, replace=False)]
    idx, _ = assign(sub, C)
    fig, ax = plt.subplots(figsize=(6.2, 6))
    ax.scatter(sub[:, 0], sub[:, 1], c=idx % 20, cmap="tab20", s=1.5, alpha=0.6, linewidths=0)
    ax.scatter(C[:, 0], C[:, 1], c="black", marker="x", s=30, label=f"EAS centers ({len(C)})")
    ax.set_title(f"Fig. 6a: EAS clustering, c = {c:g}, seed {seed}\n"
                 f"cost {result.output['cost']:.4g}, {result.bits:,} bits (25,000 of 512,000 points shown)")
    ax.legend(loc="upper right")
    ax.set_aspect("equal")
    fig.tight_layout()
    path = out / "fig6_eas_scatter.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def table(fig_key: str, data: dict) -> str:
    title, _, protos = FIGURES[fig_key]
    cs = sorted(set().union(*[set(data[p]) for p in protos]))
    head = "| c | " + " | ".join(f"{LABEL[p]} cost | {LABEL[p]} bits" for p in protos) + " |"
    lines = [f"**{title}** (mean ± sd over seeds; n = seeds per point)", "", head,
             "|" + "---|" * (1 + 2 * len(protos))]
    for c in cs:
        cells = []
        for p in protos:
            if c not in data[p]:
                cells += ["", ""]
                continue
            cm, cs_, n = stats(data[p][c], "cost")
            bm, bs, _ = stats(data[p][c], "bits")
            cells += [f"{cm:,.4g} ± {cs_:,.2g}", f"{bm:,.0f} ± {bs:,.2g}"]
        lines.append(f"| {c:g} | " + " | ".join(cells) + " |")
    n = stats(next(iter(data[protos[0]].values())), "cost")[2]
    lines.append("")
    lines.append(f"(n = {n} seeds per point)")
    return "\n".join(lines)


def ratios(fig_key: str, data: dict) -> list[str]:
    """Our ratios of means beside the paper's statements."""
    if fig_key not in PAPER_CLAIMS:
        return []
    a, e = data["as"], data["eas_jl"]
    out = []
    for c, what, paper in PAPER_CLAIMS.get(fig_key, []):
        if c not in a or c not in e:
            continue
        name = FIGURES[fig_key][0].split(" —")[0]
        if what.startswith("cost"):
            ours = stats(e[c], "cost")[0] / stats(a[c], "cost")[0]
            proj = stats(e[c], "cost_projected")[0] / stats(a[c], "cost")[0]
            out.append(f"| {name} | {c:g} | {what} | {paper} | {ours:.3g} (in d': {proj:.3g}) |")
        else:
            ours = stats(a[c], "bits")[0] / stats(e[c], "bits")[0]
            out.append(f"| {name} | {c:g} | {what} | {paper} | {ours:.3g} |")
    return out


def blackboard_ratios(fig_key: str, data: dict) -> list[str]:
    """MP against EAS (the paper: EAS 'clearly outperforms MP for both clustering cost and
    communication cost' for c > 11 / c > 2) and AS against EAS."""
    out = []
    for c in sorted(data["eas"]):
        if c not in data["mp"] or c not in data["as"]:
            continue
        mp_c, eas_c, as_c = (stats(data[p][c], "cost")[0] for p in ("mp", "eas", "as"))
        mp_b, eas_b, as_b = (stats(data[p][c], "bits")[0] for p in ("mp", "eas", "as"))
        out.append(f"| {c:g} | {mp_c / eas_c:.3g} | {mp_b / eas_b:.3g} | {eas_c / as_c:.3g} | {as_b / eas_b:.3g} |")
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=Path, default=Path("runs/paper"))
    ap.add_argument("--out", type=Path, default=Path("docs/img/results"))
    ap.add_argument("--only", choices=list(FIGURES), action="append")
    ap.add_argument("--no-scatter", action="store_true")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    claims = []
    for key in args.only or FIGURES:
        _, stem, protos = FIGURES[key]
        data = {p: load(args.runs, stem, p) for p in protos}
        print(f"wrote {plot_figure(key, data, args.out)}")
        print()
        print(table(key, data))
        print()
        if "mp" in protos:
            print("| c | MP cost / EAS cost | MP bits / EAS bits | EAS cost / AS cost | AS bits / EAS bits |")
            print("|---|---|---|---|---|")
            print("\n".join(blackboard_ratios(key, data)))
            print()
        claims += ratios(key, data)
    for key, stem in (("fig5", "fig5_digits_blackboard"), ("fig6", "fig6_gaussian2d_blackboard")):
        path = args.runs / f"{stem}_mp_r0small" / "results.json"
        if path.exists() and (args.only is None or key in args.only):
            small = load(args.runs, stem, "mp_r0small")
            base = load(args.runs, stem, "mp")
            eas = load(args.runs, stem, "eas")
            print(f"MP with a small r0 ({stem}):")
            print("| c | MP(r0=1) cost | MP(r0=1) bits | MP(small r0) cost | MP(small r0) bits | EAS cost | EAS bits |")
            print("|---|---|---|---|---|---|---|")
            for c in small:
                cells = [stats(d[c], f)[0] for d in (base, small, eas) for f in ("cost", "bits")]
                print(f"| {c:g} | " + " | ".join(f"{v:,.4g}" if i % 2 == 0 else f"{v:,.0f}" for i, v in enumerate(cells)) + " |")
            print()
    if claims:
        print("| figure | c | ratio | the paper | ours |")
        print("|---|---|---|---|---|")
        print("\n".join(claims))
    if not args.no_scatter and (args.only is None or "fig6" in args.only):
        print(f"wrote {scatter_fig6(args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
