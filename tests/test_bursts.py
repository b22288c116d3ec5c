"""AXI bursts of the chunk bridge (rtl_gen/bridge.py), on its own (sim/bursts.py): the transactions it makes are
the ones the script implies (consecutive beats in consecutive cycles, up to burst_beats, never across 4 KB), every
value is exact, and the contract of hw_model.timing.axi_read_slack is tight: a DRAM 40 cycles away with the least
read latency that covers it holds nothing, one a cycle slower holds the chunk."""
from __future__ import annotations

import pytest

from hw_model.config import MemoryInterface
from sim.bursts import expected_bursts, run_bridge
from sim.dram import covering_read_latency
from sim.tools import available

PAGE = 4096 // 8            # beats of a 4 KB page on a 64-bit bus


def test_expected_bursts_by_hand():
    # 3 beats, a gap, 5 beats across a page (2 + 3), a jump, 6 beats at most 4 a burst (4 + 2)
    stream = [0, 1, 2, None, PAGE - 2, PAGE - 1, PAGE, PAGE + 1, PAGE + 2, 9000, 9001, 9002, 9003, 9004, 9005]
    got = expected_bursts(stream, 4, 8, base=0)
    assert got == [[0, 2], [(PAGE - 2) * 8, 1], [PAGE * 8, 2], [9000 * 8, 3], [9004 * 8, 1]]


def script(n_runs: int = 1):
    """Reads and writes at once: long runs (full bursts), runs across a 4 KB page, gaps, jumps and strided beats
    (a burst each)."""
    reads = (list(range(0, 40)) + [None, None] + list(range(PAGE - 12, PAGE + 18)) + [7000, 9000, 7001]
             + [None] * 3 + list(range(100, 140, 2))) * n_runs
    writes = ([None] * 5 + [(20000 + i, i * 77 + 1) for i in range(50)] + [None]
              + [(3 * PAGE - 7 + i, i) for i in range(0, 60, 3)] + [(40000 + i, 5 * i) for i in range(40)])
    return reads, writes


def _mem(burst_beats: int, dram_latency: int) -> MemoryInterface:
    return MemoryInterface(bus_bits=64, read_latency=covering_read_latency(dram_latency, burst_beats),
                           addr_bits=24, burst_beats=burst_beats)


def _values_exact(rep):
    assert not rep["timed_out"] and rep["reads_exact"] and rep["writes_exact"] and rep["beats_exact"]
    assert rep["axi_legal"] and rep["wlast_framing"] and rep["bresp_ok"]


@pytest.mark.parametrize("simulator", ["icarus", "verilator"])
@pytest.mark.parametrize("burst_beats", [16, 4])
def test_bursts_are_what_the_streams_make_and_keep_the_contract(simulator, burst_beats):
    if not available(simulator):
        pytest.fail(f"{simulator} is not installed (see .ci/run)")
    reads, writes = script()
    rep = run_bridge(_mem(burst_beats, 40), reads, writes, simulator, dram={"latency": 40})
    _values_exact(rep)
    assert rep["held"] == 0
    assert rep["read_bursts"] == rep["read_bursts_expected"]
    assert rep["write_bursts"] == rep["write_bursts_expected"]
    assert max(n for _, n in rep["read_bursts"]) == burst_beats - 1
    assert rep["read_transactions"] == len(rep["read_bursts"])


def test_single_beats_are_a_transaction_a_beat():
    reads, writes = script()
    rep = run_bridge(_mem(1, 40), reads, writes, "icarus", dram={"latency": 40})
    _values_exact(rep)
    assert rep["held"] == 0
    assert all(n == 0 for _, n in rep["read_bursts"] + rep["write_bursts"])
    assert len(rep["read_bursts"]) == sum(a is not None for a in reads)


def test_a_dram_a_cycle_past_the_burst_contract_holds_the_chunk():
    reads, writes = script()
    rep = run_bridge(_mem(16, 40), reads, writes, "icarus", dram={"latency": 41})
    _values_exact(rep)
    assert rep["held"] > 0


def test_random_pauses_on_every_channel_keep_the_values_and_the_framing():
    reads, writes = script(2)
    rep = run_bridge(_mem(16, 0), reads, writes, "icarus", backpressure=True, seed=3)
    _values_exact(rep)
    assert rep["held"] > 0 and max(n for _, n in rep["read_bursts"]) > 0
