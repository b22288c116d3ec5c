"""The bundle's resource table: synthesized and placed counts beside hw_model's estimate, and the clock reached."""
from __future__ import annotations

import re

from hw_model.config import Accelerator
from hw_model.cost import accelerator_resources

def clock_figures(acc: Accelerator, period_cycles: int, fmax_mhz: float | None) -> dict:
    """The design's frame rate at the config's clock and at the routed Fmax (the model's period: exact in cycles)."""
    out = {"period_cycles": period_cycles, "config_clock_mhz": acc.clock_mhz,
           "fps_at_config_clock": acc.clock_mhz * 1e6 / period_cycles}
    if fmax_mhz:
        out |= {"routed_fmax_mhz": fmax_mhz, "fps_at_routed_fmax": fmax_mhz * 1e6 / period_cycles,
                "meets_config_clock": fmax_mhz >= acc.clock_mhz}
    return out


def clock_lines(c: dict) -> list[str]:
    lines = [f"Frame rate: {c['fps_at_config_clock']:,.0f} FPS at the config's {c['config_clock_mhz']:g} MHz "
             f"(period {c['period_cycles']} cycles, the model's)"]
    if "routed_fmax_mhz" in c:
        lines.append(f"at the routed Fmax, {c['routed_fmax_mhz']:.2f} MHz: {c['fps_at_routed_fmax']:,.0f} FPS")
        if not c["meets_config_clock"]:
            lines.append(f"THE ROUTED FMAX ({c['routed_fmax_mhz']:.2f} MHz) IS BELOW THE CONFIG'S CLOCK "
                         f"({c['config_clock_mhz']:g} MHz): the design does not reach the config's frame rate")
    return ["", "; ".join(lines[:2]) + "."] + ([lines[2] + "."] if len(lines) > 2 else [])


def resource_table(acc: Accelerator, ecp5: dict | None, xc7: dict | None,
                   period_cycles: int) -> tuple[dict, str]:
    est = accelerator_resources(acc)["total"]
    rows = []

    def row(what, tool, dsp, bram, lut, ff):
        rows.append({"flow": what, "tool_counts": tool, "dsp": dsp, "bram18": bram, "lut": lut, "ff": ff})

    row("hw_model estimate", "-", est["dsp"], est["bram18"], est["lut"], None)
    if xc7:
        c = xc7["yosys_cells"]
        lut = sum(v for k, v in c.items() if re.fullmatch(r"LUT[1-6]", k))
        ff = sum(v for k, v in c.items() if re.fullmatch(r"FD[RSCEP]+E?", k))
        bram = c.get("RAMB18E1", 0) + 2 * c.get("RAMB36E1", 0)
        row("yosys synth_xilinx (xc7)", "DSP48E1, RAMB18E1 + 2 x RAMB36E1, LUT1-6, FD*", c.get("DSP48E1", 0), bram,
            lut, ff)
    if ecp5:
        u = ecp5["utilization"]
        row(f"nextpnr-ecp5 ({ecp5['part']})", "MULT18X18D, DP16KD, LUT4 (TRELLIS_COMB), TRELLIS_FF",
            u.get("MULT18X18D"), u.get("DP16KD"), u.get("TRELLIS_COMB"), u.get("TRELLIS_FF"))
    md = ["| flow | DSP | BRAM18 | LUT | FF | counted as |", "|---|---|---|---|---|---|"]
    for r in rows:
        md.append(f"| {r['flow']} | {r['dsp']} | {r['bram18']} | {r['lut']} | {r['ff'] if r['ff'] is not None else '-'} "
                  f"| {r['tool_counts']} |")
    if ecp5 and ecp5.get("fmax_placed_estimate_mhz") and not ecp5.get("fmax_mhz"):
        md += ["", "Max frequency estimated after placement (nextpnr, out of context; not routed: "
               f"{ecp5.get('error', '')}): " + ", ".join(f"{k} {v:.1f} MHz"
                                                         for k, v in ecp5["fmax_placed_estimate_mhz"].items())]
    if ecp5 and ecp5.get("fmax_mhz"):
        md += ["", "Max frequency (nextpnr, routed, out of context): " + ", ".join(
            f"{k} {v:.1f} MHz" for k, v in ecp5["fmax_mhz"].items()) + f" (the config's clock: {acc.clock_mhz:g} MHz)"]
    if ecp5 and not ecp5["fits"]:
        over = [f"{k} {ecp5['utilization'][k]}/{ecp5['available'][k]}" for k in ecp5["utilization"]
                if ecp5["utilization"][k] > ecp5["available"][k]]
        md += ["", f"Does not fit {ecp5['part']}: " + ", ".join(over) + f" ({ecp5.get('error', '')})."]
    fmax = (ecp5 or {}).get("fmax_mhz") or {}
    clock = clock_figures(acc, period_cycles, min(fmax.values()) if fmax else None)
    md += clock_lines(clock)
    return {"rows": rows, "ecp5": ecp5, "xc7": xc7, "clock": clock}, "\n".join(md) + "\n"
