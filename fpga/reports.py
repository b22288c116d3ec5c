"""The bundle's resource table: synthesized and placed counts beside hw_model's estimate, and the clock reached."""
from __future__ import annotations

import re

from hw_model.config import Accelerator
from hw_model.cost import accelerator_resources

def resource_table(acc: Accelerator, ecp5: dict | None, xc7: dict | None) -> tuple[dict, str]:
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
    return {"rows": rows, "ecp5": ecp5, "xc7": xc7}, "\n".join(md) + "\n"
