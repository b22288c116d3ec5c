"""docs/results.md from bench/results/*.json: `python -m bench.report` (`make results`).

Every figure in docs/results.md is read from a benchmark's own output here, so the page cannot drift from what
was measured; a missing result is said as missing, not filled in. Each section names the command that measures it.
"""
from __future__ import annotations

import json
from pathlib import Path

from hw_model.io import atomic_write_text

RESULTS = Path(__file__).parent / "results"
PAGE = Path(__file__).resolve().parent.parent / "docs" / "results.md"
METHOD_PAPER_CPU = {"weight_step_s": 1.56, "arch_step_s": 2.48, "peak_mib": 6.9 * 1024}   # reference/method.md


def _load(name: str):
    p = RESULTS / name
    return json.loads(p.read_text()) if p.is_file() else None


def _table(head: list[str], rows: list[list]) -> list[str]:
    return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)] + ["| " + " | ".join(map(str, r)) + " |"
                                                                       for r in rows]


def fpga() -> list[str]:
    d = _load("fpga_default.json")
    out = ["## FPGA: the default configuration on the ECP5-85", "",
           "`python -m bench.fpga` (`make fpga CONFIG=configs/default.json`, yosys and nextpnr-ecp5 from yowasp, out "
           "of context). Flow and bundle: [fpga.md](fpga.md); how timing closed: [timing-closure.md](timing-closure.md).",
           ""]
    if d is None:
        return out + ["No result recorded yet.", ""]
    e, x = d["ecp5"], d.get("xc7_cells", {})
    out += _table(["part", "routed Fmax", "config clock", "placement seed", "TRELLIS_COMB", "FF", "MULT18X18D",
                   "DP16KD"],
                  [[e["part"], f"**{e['fmax_mhz']:.2f} MHz**", f"{d['clock_mhz']:g} MHz", e["seed"],
                    f"{e['utilization']['TRELLIS_COMB']:,} ({e['utilization']['TRELLIS_COMB'] / e['available']['TRELLIS_COMB']:.0%})",
                    f"{e['utilization']['TRELLIS_FF']:,}", e["utilization"]["MULT18X18D"], e["utilization"]["DP16KD"]]])
    if x:
        out += ["", f"yosys synth_xilinx (xc7): {x['DSP48E1']} DSP48E1, {x['BRAM18']} BRAM18, {x['LUT']:,} LUT, "
                    f"{x['FF']:,} FF."]
    out += ["", f"Design: {d.get('design', 'the AXI wrapper')}. Measured: {d['measured']}."]
    f = d.get("frames_wrapper")
    if f:
        u, a = f["utilization"], f["available"]
        out += ["", f"The frames wrapper (rtl_gen/frames.py, what the bundle ships now) on the same part: "
                    f"{u['TRELLIS_COMB']:,} TRELLIS_COMB ({u['TRELLIS_COMB'] / a['TRELLIS_COMB']:.0%}), "
                    f"{u['TRELLIS_FF']:,} FF, {u['MULT18X18D']} MULT18X18D, {u['DP16KD']} DP16KD: "
                    f"{'routed' if f['placed_and_routed'] else 'not routed yet'}. "
                    f"Measured: {f['measured']}."]
    return out + [""]


def search_speed() -> list[str]:
    out = ["## Heterogeneous sampling: search-step time and memory against bit-widths", "",
           "`python -m bench.search_speed --preset default|paper` (batch 64, CPU, each configuration in a fresh "
           "process, side by side in one run). Heterogeneous sampling runs one convolution on mixed quantized "
           "tensors; the all-paths baseline one per bit-width.", ""]
    for preset in ("default", "paper"):
        d = _load(f"search_speed_{preset}.json")
        if not d:
            continue
        widths = sorted({r["bits"] for r in d})
        rows = []
        for mode in ("heterogeneous", "all_paths"):
            by = {r["bits"]: r for r in d if r["mode"] == mode}
            rows.append([preset, mode, "peak MiB"] + [f"{by[j]['peak_rss_mib']:,.0f}" for j in widths])
            rows.append([preset, mode, "weight / arch step (s)"]
                        + [f"{by[j]['weight_step_s']:.3f} / {by[j]['arch_step_s']:.3f}" for j in widths])
        out += _table(["preset", "sampling", "measure"] + [f"{j} bit-widths" for j in widths], rows) + [""]
    paper = _load("search_speed_paper.json")
    if paper:
        h3 = next(r for r in paper if r["mode"] == "heterogeneous" and r["bits"] == 3)
        m = METHOD_PAPER_CPU
        out += [f"Against the method's released code on this machine kind (paper preset, 3 bit-widths, "
                f"reference/method.md): weight step {h3['weight_step_s'] / m['weight_step_s']:.2f}x, architecture "
                f"step {h3['arch_step_s'] / m['arch_step_s']:.2f}x, peak memory {h3['peak_rss_mib'] / m['peak_mib']:.2f}x "
                f"of its {m['weight_step_s']} s, {m['arch_step_s']} s, 6.9 GB.", ""]
    cuda = _load("search_speed_paper_cuda_steady.json")
    if cuda:
        rows = [[r["device_name"], r["mode"], r["bits"], r["batch"], f"{r['weight_step_s']:.3f}",
                 f"{r['arch_step_s']:.3f}", f"{r['peak_gpu_mib']:,.0f}"] for r in cuda]
        out += _table(["GPU", "sampling", "bit-widths", "batch", "weight step (s)", "arch step (s)", "peak GPU MiB"],
                      rows) + [""]
    return out


def ablation() -> list[str]:
    d = _load("ablation.json")
    out = ["## Joint against sequential search (ablation)", "",
           "`python -m bench.ablation` (digits, same seed, epochs and budget; integer-model accuracy, exact-model FPS "
           "and energy on each arm's own final accelerator). One seed: indicative, not significant.", ""]
    if not d:
        return out + ["No result recorded yet.", ""]
    rows = [[arm, f"{r['accuracy']:.2%}", f"{r['fps']:,.0f}", f"{r['energy_uj']:.2f}", f"{r['edp_uj_ms']:.3f}",
             r["dsp"], " ".join(r["network"])] for arm, r in d.items()]
    return out + _table(["arm", "accuracy", "FPS (model)", "uJ/frame", "EDP (uJ*ms)", "DSP", "network"], rows) + [""]


def accel_search() -> list[str]:
    d = _load("accel_search.json")
    out = ["## Accelerator search against the exact optimum", "",
           "`python -m bench.accel_search` (best latency found over the exact optimum, median of 10 seeds; the optimum "
           "by per-chunk enumeration and a bisection on the target latency). Plot: "
           "[accel_search.png](../bench/results/accel_search.png).", ""]
    if not d:
        return out + ["No result recorded yet.", ""]
    evals = ["100", "1000", "2000", "10000"]
    rows = []
    for w in d:
        for eng in ("differentiable", "random"):
            rows.append([f"{w['workload']} ({w['designs']:.2g} designs)" if eng == "differentiable" else "", eng]
                        + [f"{w[eng][e]:.3f}" for e in evals]
                        + [f"{w['random_100k']:.3f}" if eng == "random" else ""])
    return out + _table(["workload", "engine", "100", "1,000", "2,000", "10,000", "random, 100,000"], rows) + [""]


def utilization() -> list[str]:
    d = _load("utilization.json")
    out = ["## MAC utilization (exact model)", "",
           "`python -m bench.utilization`: every load, write and pipeline overhead counted. Plot: "
           "[utilization.png](../bench/results/utilization.png).", ""]
    if not d:
        return out + ["No result recorded yet.", ""]
    pct = lambda v: "" if v is None else f"{v:.1%}"
    rows = [[name, pct(w["mean_3x3"]), pct(w["mean_standard"]), pct(w["mean_standard_best_dataflow"]),
             pct(w["mean_depthwise"])] for name, w in d["workloads"].items()]
    return out + _table(["workload", "standard 3x3 mean", "all standard convs", "best of channel/pixel",
                         "depthwise mean"], rows) + [""]


def model_speed() -> list[str]:
    d = _load("model_speed.json")
    out = ["## Cost-model speed", "", "`python -m bench.model_speed` (one run, side by side).", ""]
    if not d:
        return out + ["No result recorded yet.", ""]
    rows = [["exact model, vectorized (cycles)", f"{d['batch_cycles_per_s']:,.0f}"],
            ["exact model, vectorized (cycles + traffic + energy)", f"{d['batch_cycles_energy_traffic_per_s']:,.0f}"],
            ["exact model, one layer at a time", f"{d['scalar_per_s']:,.0f}"],
            ["the method's (inexact) formula, plain Python", f"{d['method_formula_plain_python_per_s']:,.0f}"]]
    return out + _table(["evaluator", "layer evaluations / s"], rows) + [
        "", f"The vectorized exact model is {d['batch_over_method_formula']:.1f}x the method's own formula ({d['machine']}).",
        ""]


def sim_speed() -> list[str]:
    d = _load("sim_speed.json")
    out = ["## Simulation speed", "", "`python -m bench.sim_speed` (default accelerator).", ""]
    if not d:
        return out + ["No result recorded yet.", ""]
    rows = [[f"layers on one chunk ({s['cycles']:,} cycles)", sim, f"{s['run_cycles_per_s']:,.0f}",
             f"{s['cycles_per_s']:,.0f}"] for sim, s in d["simulators"].items()]
    rows += [[f"whole network ({s['layers']} layers x {s['images']} images, {s['cycles']:,} cycles)", sim,
              f"{s['run_cycles_per_s']:,.0f}", f"{s['cycles_per_s']:,.0f}"] for sim, s in d["whole_network"].items()]
    return out + _table(["run", "simulator", "cycles/s while running", "cycles/s end to end"], rows) + [""]


def schedule() -> list[str]:
    d = _load("schedule.json")
    out = ["## Frames pipelined over the chunks (model)", "",
           "`python -m bench.schedule`: hw_model.schedule's figures, at each config's clock, and for the default "
           "network the frames wrapper's RTL measured beside them. Plot: "
           "[schedule.png](../bench/results/schedule.png).", ""]
    if not d:
        return out + ["No result recorded yet.", ""]
    rows = [[c["config"], c["source"], f"{c['clock_mhz']:g}", f"{c['model_fps_layer_at_a_time']:,.0f}",
             f"{c['model_fps_pipelined']:,.0f}", f"{c['pipelined_over_layer_at_a_time']:.2f}x",
             f"{c['latency_over_layer_at_a_time']:.2f}x", f"{c['copies_memory_ratio']:.2f}x"] for c in d["cases"]]
    sp = d["speed"]
    rtl = [(c, c["rtl"]) for c in d["cases"] if c.get("rtl")]
    meas = [f"Measured on the RTL (frames wrapper, Verilator, {c['frames']} frames, {c['source']}): period "
            f"{r['period_cycles']['rtl']:,} cycles (model {r['period_cycles']['model']:,}), "
            f"**{r['measured_fps']:,.0f} FPS at {c['clock_mhz']:g} MHz**, first frame's latency "
            f"{r['latency_cycles']['rtl']:,} cycles (model {r['latency_cycles']['model']:,}); every completion "
            f"cycle {'equal to' if r['completions_exact'] else 'DIFFERENT from'} the model's, every frame "
            f"{'bit-exact' if r['all_bit_exact'] else 'NOT bit-exact'}." for c, r in rtl]
    return out + _table(["config", "network", "clock MHz", "FPS one layer at a time", "FPS pipelined", "speed-up",
                         "latency vs one at a time", "activation memory (copies)"], rows) + [""] + meas + [
        "", f"The search's vectorized period scores {sp['designs_per_s_vectorized_period']:,.0f} designs/s, "
            f"{sp['vectorized_over_previous']:.2f}x the objective it replaced and {sp['vectorized_over_exact']:,.0f}x "
            f"the exact schedule (placement and an 8-frame run), which gives the same period.", ""]


def memory() -> list[str]:
    d = _load("memory.json")
    out = ["## The memory: AXI bursts against single beats, and the bandwidth roofline", "",
           "`python -m bench.memory`: read beats a cycle through one chunk's AXI master (rtl_gen/bridge.py, RTL on "
           "cocotb, sim/dram.py's DRAM), each design at the least read latency that covers its DRAM; and the "
           "model's frame rate against the memory's bandwidth (hw_model.bandwidth). Plot: "
           "[memory.png](../bench/results/memory.png).", ""]
    if not d:
        return out + ["No result recorded yet.", ""]
    rows = [[r["dram_latency"], "single beats" if r["burst_beats"] == 1 else f"bursts of {r['burst_beats']}",
             r["read_latency"], f"{r['transactions']:,}", f"**{r['beats_per_cycle']:.3f}**"] for r in d["stream"]]
    rf = d["roofline"]
    return out + [f"Measured on the RTL ({d['simulator']}), a memory holding {d['outstanding']} read transactions "
                  f"at once, {d['stream'][0]['beats']:,} consecutive reads:", ""] + _table(
        ["DRAM latency (cycles)", "transfers", "chunks' read_latency", "AR transactions", "beats / cycle"], rows) + [
        "", f"Model, {rf['config']} ({rf['source']}) at {rf['clock_mhz']:g} MHz: {rf['bytes_per_frame']:,} bytes a "
            f"frame; the schedule's {rf['fps_schedule']:,.0f} FPS needs {rf['demanded_gb_s']:.2f} GB/s; on the "
            f"config's {rf['config_bandwidth_gb_s']} GB/s it runs {rf['config_fps']:,.0f} FPS "
            f"({rf['config_bound']}-bound).", ""] + _measured_frames(d)


def _measured_frames(d: dict) -> list[str]:
    ms = d.get("measured")
    if not ms:
        return []
    rows = [[f"{r['bandwidth_gb_s']:.3g}", r["model_period"], r["model_bound"], f"**{r['rtl_period']}**",
             r["measured_bound"], f"{r['measured_fps']:,.0f}", r["stall_cycles"],
             "yes" if r["completions_exact"] and r["all_bit_exact"] else "**no**"] for r in ms]
    m = ms[0]
    return [f"The same design's frames on the RTL ({d['simulator']}, the host driver, "
            f"{m.get('frames', 3)} frames on one start), on a DRAM {m['dram_latency']} cycles away (bursts of "
            f"{m['burst_beats']}, read_latency {m['read_latency']}) sustaining each bandwidth with the burst "
            "allowance hw_model.bandwidth gives; the frames paced to the memory where the model says it is the "
            "slower. Measured period: the last two completions.", ""] + _table(
        ["GB/s", "model period", "model bound", "measured period", "measured bound", "FPS (measured)", "stalls",
         "every completion and frame exact"], rows) + [""]


def page() -> str:
    lines = ["# Results", "",
             "Generated by `make results` from bench/results/*.json; do not edit by hand. Each section names the "
             "benchmark that measures it (`make bench`, `make bench-all`).", ""]
    for section in (fpga, schedule, memory, ablation, search_speed, accel_search, utilization, model_speed, sim_speed):
        lines += section()
    return "\n".join(lines).rstrip() + "\n"


def main() -> int:
    atomic_write_text(PAGE, page())
    print(f"wrote {PAGE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
