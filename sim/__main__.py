"""`python -m sim [--config FILE] [--layers FILE | --network reference] [--images N] [--simulator verilator|icarus]`

With a search result (a config that carries its network, such as out/best.json): runs the whole network on
the accelerator top's RTL for N test images, layer by layer on the chunks the mapping names, with the
exported integer weights; checks every layer's output and the logits bit for bit against the PyTorch integer
model, every layer's cycles against the cycle model, and reports predicted against simulated FPS.
Otherwise: runs each layer of a layer list on its chunk's RTL with seeded random data and checks the same.
`--network reference` runs the built-in reference network (every layer type, random weights) on any config.
Writes out/sim/report.json and prints it as a table. Exit 1 on any mismatch.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from hw_model.config import load_layers
from hw_model.control import FRAME_LOG
from hw_model.cost import ENERGY_SOURCE
from hw_model.cli import add_config, load_config, parser
from hw_model.defaults import DEFAULT_LAYERS
from hw_model.errors import ConfigError, cli_errors
from hw_model.frame_program import DEFAULT_FRAMES
from hw_model.io import atomic_write_json, check_writable_dir
from hw_model.result import has_network, load_network

from .budget import check_layers_fit
from .run import SIMULATORS, make_case, run_cases
from .tools import available


def format_table(rows: list[dict]) -> str:
    head = (f"{'layer':<24} {'chunk':<8} {'model_cycles':>12} {'rtl_cycles':>12} {'cycles':>7} {'bit_exact':>9} "
            f"{'mac_util':>8} {'energy_uJ':>10}")
    lines = [head, "-" * len(head)]
    for r in rows:
        same = "equal" if r["model_cycles"] == r["rtl_cycles"] else "DIFFER"
        lines.append(f"{r['name']:<24} {r['chunk']:<8} {r['model_cycles']:>12} {r['rtl_cycles']:>12} {same:>7} "
                     f"{str(r['bit_exact']):>9} {r['mac_utilization']:>8.3f} {r['energy_uj']:>10.3f}")
    return "\n".join(lines)


@cli_errors
def main(argv=None) -> int:
    ap = parser("python -m sim", __doc__)
    add_config(ap)
    ap.add_argument("--layers", default=None, help="JSON list of conv layers (default: the network of a search "
                                                   f"result, else configs/{DEFAULT_LAYERS.name})")
    ap.add_argument("--simulator", default="verilator", choices=SIMULATORS)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="out/sim/report.json")
    ap.add_argument("--network", choices=("searched", "reference"), default=None,
                    help="whole-network simulation: the config's searched network (default when it has one) or "
                         "the built-in reference network")
    ap.add_argument("--images", type=int, default=8, help="test images for a whole-network simulation")
    ap.add_argument("--frames", type=int, default=DEFAULT_FRAMES, help="frames to run pipelined over the chunks on the frames "
                                                          "wrapper after a whole-network simulation (0: none)")
    args = ap.parse_args(argv)
    cfg_path, acc, raw = load_config(args)
    has_net = has_network(raw)
    if args.images < 1:
        raise ConfigError("--images", args.images, "a positive integer")
    if not 0 <= args.frames <= FRAME_LOG:
        raise ConfigError("--frames", args.frames, f"an integer from 0 to {FRAME_LOG} (the frames whose "
                                                   "completion the wrapper logs)")
    if not 0 <= args.seed < 2 ** 31:
        raise ConfigError("--seed", args.seed, "an integer from 0 to 2^31 - 1")
    out = Path(args.out)
    if out.is_dir():
        raise ConfigError("--out", args.out, "a file name for the report (this is a folder)")
    check_writable_dir(out.parent, "--out")
    if args.network == "reference" or (args.network is None and has_net and not args.layers):
        if not available(args.simulator):
            raise ConfigError("--simulator", args.simulator, "a simulator installed here")
        return whole_network(acc, raw if args.network != "reference" else None, Path(cfg_path), args)
    if args.network == "searched":
        raise ConfigError("--config", str(cfg_path), "a search result with a network (out/best.json)")
    if args.layers:
        layers = load_layers(args.layers)
    else:   # a search result carries its network: simulate its layers; otherwise the default layer list
        layers = load_network(raw, Path(cfg_path), 1).layers if has_net else load_layers(DEFAULT_LAYERS)
    if not available(args.simulator):
        raise ConfigError("--simulator", args.simulator, "a simulator installed here (verilator from the venv; "
                                                         "icarus: apt-get install iverilog)")
    check_layers_fit(layers, acc.memory.bus_bits)
    rng = np.random.default_rng(args.seed)
    cases = [make_case(acc, layer, rng) for layer in layers]  # validates every layer before simulating
    rows = run_cases(acc, cases, args.simulator)
    report = {"config": acc.name, "simulator": args.simulator, "seed": args.seed,
              "layers": [{k: r[k] for k in ("name", "chunk", "model_cycles", "rtl_cycles", "bit_exact",
                                            "mac_utilization", "energy_uj", "memory_bytes", "model_read_beats",
                                            "rtl_read_beats", "model_write_beats", "rtl_write_beats", "mapping")}
                         for r in rows]}
    report["all_cycle_exact"] = all(r["model_cycles"] == r["rtl_cycles"] for r in rows)
    report["all_bit_exact"] = all(r["bit_exact"] for r in rows)
    report["all_beats_exact"] = all(r["model_read_beats"] == r["rtl_read_beats"]
                                    and r["model_write_beats"] == r["rtl_write_beats"] for r in rows)
    report["energy_source"] = ENERGY_SOURCE
    atomic_write_json(Path(args.out), report)
    print(format_table(rows))
    ok = report["all_cycle_exact"] and report["all_bit_exact"] and report["all_beats_exact"]
    print(f"\n{len(rows)} layers on {args.simulator}: "
          f"{'all cycle-exact and bit-exact' if ok else 'MISMATCH'}; report: {args.out}")
    return 0 if ok else 1


def format_network_table(rep: dict) -> str:
    head = (f"{'layer':<14} {'op':<8} {'chunk':<6} {'model_cycles':>12} {'rtl_cycles':>12} {'cycles':>7} "
            f"{'bit_exact':>9} {'mac_util':>8}")
    lines = [head, "-" * len(head)]
    for r in rep["layers"]:
        same = "equal" if r["model_cycles"] == r["rtl_cycles"] else "DIFFER"
        lines.append(f"{r['name']:<14} {r['op']:<8} {r['chunk']:<6} {r['model_cycles']:>12} {str(r['rtl_cycles']):>12} "
                     f"{same:>7} {str(r['bit_exact']):>9} {r['mac_utilization']:>8.3f}")
    return "\n".join(lines)


def whole_network(acc, raw, cfg_path: Path, args) -> int:
    """The whole network on the accelerator top (one layer at a time: each layer's cycles and values), then N
    frames pipelined over the chunks on the frames wrapper (the frame: completions, period, latency)."""
    from .network import run_network

    net = load_network(raw, cfg_path, max(args.images, args.frames), args.seed)
    source = net.source
    rep = run_network(acc, net.layers, net.graph, net.images[:args.images], args.simulator,
                      labels=None if net.labels is None else net.labels[:args.images])
    rep.update(config=acc.name, simulator=args.simulator, source=source, energy_source=ENERGY_SOURCE)
    ok = rep["logits_bit_exact"] and rep["all_bit_exact"] and rep["all_cycle_exact"] and rep["all_beats_exact"]
    if args.frames:
        from .frames import contract_dram, run_frames
        fr = run_frames(acc, net.layers, net.graph, net.images[:args.frames], args.simulator,
                        dram=contract_dram(acc, net.layers, net.graph, args.frames))
        rep["frames"] = fr
        rep["simulated_fps"] = fr["measured_fps"]
        ok_f = fr["all_bit_exact"] and fr["completions_exact"] and fr["busy_exact"] and fr["beats_exact"]
        ok = ok and ok_f
    atomic_write_json(Path(args.out), rep)
    print(format_network_table(rep))
    lat, model = rep["layer_at_a_time"], rep["model"]
    print(f"\n{len(rep['layers'])} layers x {rep['images']} images on {args.simulator} ({source}), one layer at a "
          f"time: {'logits bit-exact, every layer bit-exact and cycle-exact' if rep['all_bit_exact'] else 'MISMATCH'}"
          f"; {lat['rtl_cycles']} cycles a frame (measured) = {lat['fps_of_rtl_cycles']:.0f} FPS at "
          f"{acc.clock_mhz:g} MHz")
    if args.frames:
        print(f"{args.frames} frames pipelined over the chunks: "
              f"{'every frame bit-exact, every completion cycle the model' + chr(39) + 's' if ok_f else 'MISMATCH'}; "
              f"measured period {fr['period_cycles']['rtl']} cycles (model {fr['period_cycles']['model']}) = "
              f"{fr['measured_fps'] or 0:.0f} FPS at {acc.clock_mhz:g} MHz, latency {fr['latency_cycles']['rtl']} "
              f"cycles (model {fr['latency_cycles']['model']}), stalls {fr['stall_cycles']}; memory: "
              + (f"a DRAM {fr['memory']['latency']} cycles from AR to data (sim/dram.py)"
                 if "latency" in fr["memory"] else "cocotbext-axi's AXI RAM")
              + (f" sustaining the config's {acc.memory.bandwidth_gb_s:g} GB/s (holding {fr['memory']['burst']:.0f} "
                 "beats ahead of it)" if fr["memory"].get("rate") else "")
              + (f", bursts of up to {acc.memory.burst_beats} beats, {sum(fr['read_transactions'])} read transactions"
                 if fr.get("read_transactions") and None not in fr["read_transactions"] else "")
              + f"; measured {fr['measured_gb_s'] or 0:.3g} GB/s: {fr['measured_bound']}-bound")
    else:
        print(f"model of frames pipelined (hw_model.schedule): period {model['period_cycles']} cycles = "
              f"{model['fps']:.0f} FPS at {acc.clock_mhz:g} MHz (--frames N measures it on the RTL)")
    if model["fps_bandwidth"] is not None:
        print(f"model: memory bandwidth {model['bandwidth_gb_s']:g} GB/s over {model['bytes_per_frame']:,} bytes a "
              f"frame allows {model['fps_bandwidth']:.0f} FPS, the chunks {model['fps_schedule']:.0f} FPS at "
              f"{acc.clock_mhz:g} MHz: {model['bound']}-bound, period {model['period_cycles']} cycles")
    print(f"report: {args.out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
