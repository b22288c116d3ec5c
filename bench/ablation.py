"""Ablation on the default data (digits): joint search against sequential search (network first at 8 bits,
then precision with the operators fixed, then the accelerator) and against a fixed network at 8 bits (all
k3_e6, the method's reference network) with its own best accelerator. Same seed, epochs and budget for all;
accuracy is the exported integer model's, FPS and EDP the exact model's on the final accelerator.
Writes bench/results/ablation.json. Reported honestly whatever it shows.
"""
from __future__ import annotations

import json
import tempfile
from dataclasses import replace
from pathlib import Path

from search.__main__ import search_and_export
from search.cosearch import SearchConfig

OUT = Path(__file__).parent / "results"


def summary(best: dict) -> dict:
    p = best["predicted"]
    return {"accuracy": best["accuracy"]["integer_test"], "fps": p["fps"], "energy_uj": p["energy_uj"],
            "edp_uj_ms": p["energy_uj"] * 1e3 / p["fps"], "dsp": p["dsp"], "bram18": p["bram18"],
            "network": [f"{g['op']}@{g['bits']}" for g in best["network"]["genotype"]],
            "seconds": best["search"]["seconds"]}


def main():
    base = SearchConfig()
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        rows["joint"] = summary(search_and_export(replace(base, out=f"{tmp}/joint"), make_plots=False))
        net_first = search_and_export(replace(base, bits=(8,), out=f"{tmp}/seq1"), make_plots=False)
        ops = tuple(g["op"] for g in net_first["network"]["genotype"])
        seq = search_and_export(replace(base, fixed_ops=ops, out=f"{tmp}/seq2"), make_plots=False)
        rows["sequential"] = summary(seq)
        rows["sequential"]["seconds"] += net_first["search"]["seconds"]
        n = len(net_first["network"]["genotype"])
        rows["fixed_k3_e6_8bit"] = summary(search_and_export(
            replace(base, bits=(8,), fixed_ops=("k3_e6",) * n, out=f"{tmp}/fixed"), make_plots=False))
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "ablation.json").write_text(json.dumps(rows, indent=2) + "\n")
    print(f"{'':<18} {'accuracy':>8} {'FPS':>8} {'uJ/frame':>9} {'EDP uJ*ms':>10} {'DSP':>5}  network")
    for k, r in rows.items():
        print(f"{k:<18} {r['accuracy']:8.4f} {r['fps']:8.0f} {r['energy_uj']:9.2f} {r['edp_uj_ms']:10.4f} "
              f"{r['dsp']:5d}  {' '.join(r['network'])}")
    return rows


if __name__ == "__main__":
    main()
