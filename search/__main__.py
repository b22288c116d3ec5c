"""`python -m search [options]`: the co-search, then derive, fine-tune and export.

Writes under --out (default out/): best.json (network with per-layer bits, accelerator, layer-to-chunk
mapping, predicted FPS/latency/energy/resources, accuracy), weights.npz (the integer weights and
requantization parameters, and quantized test inputs with their labels: hw_model.intnet), search_log.jsonl, and
plots (PNG).
"""
from __future__ import annotations

if __name__ == "__main__":     # before torch is imported: keep freed memory in the process (search/tuning.py)
    from search.tuning import reexec_with_malloc_tuning
    reexec_with_malloc_tuning("search")

import argparse
import io
import sys
import time
from dataclasses import asdict
from pathlib import Path

import torch

from hw_model.frame_rate import frame_rate
from hw_model.cli import parser
from hw_model.cost import accelerator_resources
from hw_model.errors import ConfigError, cli_errors
from hw_model.intnet import save_weights
from hw_model.io import atomic_write_bytes, atomic_write_json, check_writable_dir
from hw_model.result import ResultNetwork, SearchResult
from hw_model.frame_program import DEFAULT_FRAMES
from hw_model.schedule import activation_beats, network_schedule

from .cosearch import SearchConfig, predict, run_search
from .export import finetune, fold_network, int_accuracy, integer_graph, quantize_split
from .supernet import network_layers

# test inputs stored beside the weights (quantized, with labels), for `make sim` and `make fpga`
STORED_TEST_IMAGES = 256


def _bandwidth(text: str) -> float | None:
    """--bandwidth: a number of GB/s, or none (no bound); the range is CoSearchConfig's to check."""
    if text.strip().lower() == "none":
        return None
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: a number of GB/s, or none") from None


def parse(argv) -> SearchConfig:
    d = SearchConfig()
    ap = parser("python -m search", __doc__)
    ap.add_argument("--preset", default=d.preset, help="default (digits, minutes on a CPU) or paper (CIFAR)")
    ap.add_argument("--data", default=d.data, help="digits, cifar10 or cifar100")
    ap.add_argument("--data-dir", default=None, help="folder with the CIFAR python-pickle files")
    ap.add_argument("--epochs", type=int, default=d.epochs)
    ap.add_argument("--warmup", type=int, default=d.warmup)
    ap.add_argument("--batch", type=int, default=d.batch)
    ap.add_argument("--bits", default=",".join(map(str, d.bits)), help="bit-width choices, e.g. 4,6,8")
    ap.add_argument("--metric", default=d.metric, help="latency (FPS), energy or edp")
    ap.add_argument("--target", type=float, default=d.target,
                    help="latency: FPS to reach; energy: uJ per frame; edp: uJ*s not to exceed")
    ap.add_argument("--dsp", type=int, default=d.budget_dsp)
    ap.add_argument("--bram18", type=int, default=d.budget_bram18)
    ap.add_argument("--clock", "--clock-mhz", dest="clock_mhz", type=float, default=d.clock_mhz,
                    help=f"the clock (MHz) every FPS of the search assumes (default {d.clock_mhz:g}: what the default "
                         "target routes at)")
    ap.add_argument("--bandwidth", type=_bandwidth, default=d.bandwidth_gb_s,
                    help="GB/s the memory system sustains, all chunks together: part of the budget (default "
                         f"{d.bandwidth_gb_s:g}: the default target board's; 'none': no bound)")
    ap.add_argument("--finetune-epochs", type=int, default=d.finetune_epochs)
    ap.add_argument("--seed", type=int, default=d.seed)
    ap.add_argument("--out", default=d.out)
    ap.add_argument("--device", default=d.device)
    ap.add_argument("--channel-only", action="store_true",
                    help="keep every chunk of standard convolutions on the channel dataflow (no pixel chunks)")
    ap.add_argument("--large-map", type=int, default=d.large_map,
                    help="split chunks by output-map size, large from this many rows (0: no split)")
    a = ap.parse_args(argv)
    try:
        bits = tuple(int(b) for b in a.bits.split(",") if b.strip())
    except ValueError:
        raise ConfigError("--bits", a.bits, "comma-separated integers such as 4,6,8") from None
    check_writable_dir(a.out, "--out")
    return SearchConfig(preset=a.preset, data=a.data, data_dir=a.data_dir, epochs=a.epochs, warmup=a.warmup,
                        batch=a.batch, bits=bits, metric=a.metric, target=a.target, budget_dsp=a.dsp,
                        budget_bram18=a.bram18, clock_mhz=a.clock_mhz,
                        bandwidth_gb_s=a.bandwidth, finetune_epochs=a.finetune_epochs,
                        seed=a.seed, out=a.out, device=a.device, pixel=not a.channel_only,
                        large_map=a.large_map or None)


def plots(history, net, out: Path, target: float | None = None, metric: str = "latency",
          selected: dict | None = None) -> list[str]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    files = []
    ep = [h["epoch"] for h in history]
    fig, ax = plt.subplots(1, 2, figsize=(10, 3.6))
    ax[0].plot(ep, [h["accuracy"] for h in history], "o-", ms=3, label="test")
    ax[0].plot(ep, [h["val_accuracy"] for h in history], "o-", ms=3, label="validation")
    ax[0].set_xlabel("epoch"), ax[0].set_ylabel("derived network accuracy (BN recalibrated)"), ax[0].legend()
    ax[1].plot(ep, [h["fps"] for h in history], "o-", ms=3, color="C1")
    if target is not None and metric == "latency":
        ax[1].axhline(target, color="gray", ls="--", lw=1, label="target")
        ax[1].legend()
    if selected is not None:
        for a, key in ((ax[0], "val_accuracy"), (ax[1], "fps")):
            a.plot([selected["epoch"]], [selected[key]], "*", ms=14, color="C3", zorder=5)
    ax[1].set_xlabel("epoch"), ax[1].set_ylabel("predicted FPS (exact model)")
    fig.tight_layout()
    _save(fig, out / "search_curves.png")
    files.append("search_curves.png")
    p_op = torch.softmax(net.alpha.detach(), -1).numpy()
    o = net.alpha.detach().argmax(-1)
    p_bit = torch.softmax(net.beta.detach()[torch.arange(len(o)), o], -1).numpy()
    fig, ax = plt.subplots(1, 2, figsize=(10, 0.5 + 0.35 * len(o)), gridspec_kw={"width_ratios": [3, 1]})
    for a, p, labels, title in ((ax[0], p_op, net.ops, "operator probability"),
                                (ax[1], p_bit, [str(b) for b in net.bits], "bit-width of the chosen operator")):
        im = a.imshow(p, aspect="auto", cmap="viridis", vmin=0, vmax=1)
        a.set_xticks(range(len(labels)), labels, rotation=60, fontsize=7)
        a.set_yticks(range(len(o)), [f"layer {i}" for i in range(len(o))], fontsize=7)
        a.set_title(title, fontsize=9)
    fig.colorbar(im, ax=ax, fraction=0.03)
    _save(fig, out / "search_probabilities.png", bbox_inches="tight")
    files.append("search_probabilities.png")
    fig, ax = plt.subplots(figsize=(5, 3.6))
    sc = ax.scatter([h["fps"] for h in history], [h["accuracy"] for h in history], c=ep, cmap="plasma", s=12)
    if selected is not None:
        ax.plot([selected["fps"]], [selected["accuracy"]], "*", ms=14, color="C3", label="returned design")
        ax.legend(fontsize=8)
    if target is not None and metric == "latency":
        ax.axvline(target, color="gray", ls="--", lw=1)
    ax.set_xlabel("predicted FPS"), ax.set_ylabel("test accuracy"), ax.set_title("derived design per epoch")
    fig.colorbar(sc, label="epoch")
    fig.tight_layout()
    _save(fig, out / "search_designs.png")
    files.append("search_designs.png")
    plt.close("all")
    return files



def _save(fig, path: Path, **kw) -> None:
    """A plot written whole or not at all."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, **kw)
    atomic_write_bytes(path, buf.getvalue())


@cli_errors
def main(argv=None) -> int:
    search_and_export(parse(argv))
    if torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()
    return 0


def search_and_export(cfg: SearchConfig, make_plots: bool = True) -> dict:
    """The whole job: search, final accelerator search, fine-tuning, integer export. Returns best.json."""
    t0 = time.time()
    r = run_search(cfg)
    if not r["dist"].main:          # data-parallel runs: rank 0 derives, fine-tunes and exports
        r["dist"].barrier()
        return {}
    net, genotype, accel, data, device = r["net"], r["genotype"], r["accel"], r["data"], r["device"]
    sel = r["selected"]
    print("returned design: " + (f"epoch {sel['epoch']}'s (meets the target, best validation accuracy "
                                 f"{sel['val_accuracy']:.3f})" if sel else "the final derived network (no epoch's "
                                 "design met the target)"), flush=True)
    out = Path(cfg.out)
    layers = network_layers(net, genotype)
    print("final accelerator search ...", flush=True)
    acc = accel.research(layers, cfg.final_accel_evals, cfg.seed + 7, exact=True)
    pred = predict(layers, acc, cfg)
    print(f"fine-tuning the derived network ({cfg.finetune_epochs} epochs, BN folded) ...", flush=True)
    net.train()
    fold_network(net, genotype)
    finetune(net, genotype, data, cfg.finetune_epochs, device, seed=cfg.seed)
    net.eval()
    graph = integer_graph(net.cpu(), genotype)
    acc_int = int_accuracy(graph, data.test)
    sched = network_schedule(acc, layers, graph)
    rate = frame_rate(acc, layers, sched)
    weights_name = "weights.npz"
    n_keep = min(STORED_TEST_IMAGES, len(data.test.y))
    save_weights(graph, out / weights_name, quantize_split(data.test.x[:n_keep], graph).numpy(),
                 data.test.y[:n_keep].numpy())
    result = SearchResult(acc, ResultNetwork(
        tuple(layers), graph.to_json(), graph.input_scale, graph.input_bits, cfg.data, cfg.preset,
        [{"layer": i, "op": net.ops[o], "bits": net.bits[j]} for i, (o, j) in enumerate(genotype)]),
        weights_name, "best", {
            "predicted": {**pred, **rate,
                          "lut_estimate": accelerator_resources(acc)["total"]["lut"],
                          "activation_bytes": {k: v * acc.memory.bus_bits // 8 if k != "frames" else v for k, v in
                                               activation_beats(acc, layers, sched, DEFAULT_FRAMES).items()}},
            "accuracy": {"integer_test": acc_int,
                         "search_selected": None if sel is None else {k: sel[k] for k in ("epoch", "val_accuracy",
                                                                                         "accuracy")},
                         "search_last_epoch": r["history"][-1]["accuracy"] if r["history"] else None},
            "budget": {"dsp": cfg.budget_dsp, "bram18": cfg.budget_bram18, "clock_mhz": cfg.clock_mhz,
                       "bandwidth_gb_s": cfg.bandwidth_gb_s},
            "search": {**asdict(cfg), "bits": list(cfg.bits), "seconds": time.time() - t0,
                       "fixed_ops": list(cfg.fixed_ops) if cfg.fixed_ops else None}})
    best = result.to_json()
    atomic_write_json(out / "best.json", best)
    if make_plots and r["history"]:
        best["plots"] = plots(r["history"], net, out, cfg.target, cfg.metric, sel)
        atomic_write_json(out / "best.json", best)
    print(f"\nnetwork: {' '.join(f'{net.ops[o]}@{net.bits[j]}' for o, j in genotype)}")
    bw = (f"; the memory's {rate['bandwidth_gb_s']:g} GB/s allow {rate['fps_bandwidth']:.0f} FPS"
          if rate["fps_bandwidth"] is not None else "")
    print(f"integer accuracy {acc_int:.4f}; model: {rate['fps']:.0f} FPS at {cfg.clock_mhz:g} MHz (set by the "
          f"{rate['bound']}: frames pipelined, period {sched.period} cycles, latency {sched.latency} cycles, "
          f"{rate['bytes_per_frame']:,} bytes a frame{bw}), {pred['energy_uj']:.2f} uJ/frame, "
          f"{pred['dsp']} DSP, {pred['bram18']} BRAM18 (budget {cfg.budget_dsp}, {cfg.budget_bram18})")
    print(f"wrote {out / 'best.json'}, {out / weights_name}, {out / 'search_log.jsonl'} and plots "
          f"in {time.time() - t0:.0f} s")
    r["dist"].barrier()
    return best


if __name__ == "__main__":
    sys.exit(main())
