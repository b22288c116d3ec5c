"""Pipeline latencies of the generated chunk. rtl_gen builds its pipelines from these numbers and the cycle
model adds them up: they are defined here and nowhere else.

Engine busy times (cycles), each a closed form; see docs/architecture.md for the derivation:
    compute step  C = mg * trb * tcb * ng * K * K + COMPUTE_DRAIN
    read stream   R = issue_cycles + read_latency + READ_DRAIN_EXTRA
    write stream  W = trb * tcb * kb_out * sub_w + WRITE_DRAIN
    step          T = max(C, M) + STEP_OVERHEAD        (M: the memory engine's phases, run back to back)
"""

# A product in a multiplier cell (rtl_gen.cells.dsp_product): registers on its operands, on the product, and on
# the product again, so that the wires to and from the cell (placed at one of a few fixed sites) are each a
# stage of their own.
MULT_STAGES = 3
# Compute pipeline: counters -> buffer read (1) -> operand registers (1) -> multiply (MULT_STAGES) -> adder-tree
# register (1) -> reduction register (1, which also reads the accumulator) -> the accumulator's read data and
# the reduction registered (1) -> the accumulator's write port. rtl_gen counts the stages it builds against
# COMPUTE_DRAIN, WRITE_DRAIN and VEC_DRAIN at elaboration (rtl_gen.pipeline.Stages).
COMPUTE_DRAIN = 5 + MULT_STAGES
# A read issued at cycle t passes READ_REQ_STAGES registers in the chunk and shows at its port at
# t + READ_REQ_STAGES; memory returns it read_latency cycles later into the chunk's first data register, and it
# passes READ_DATA_STAGES registers before it is scattered into the buffer: the last write lands
# READ_REQ_STAGES + read_latency + READ_DATA_STAGES cycles after the last issue. Two stages each way: on an FPGA
# the memory (the AXI bridge and its queues) is one place, the chunks are all over the die, and a chunk's
# buffers are across the chunk from its port; each of those wires is a cycle of its own.
READ_REQ_STAGES = 2
READ_DATA_STAGES = 2
READ_DRAIN_EXTRA = READ_REQ_STAGES + READ_DATA_STAGES
# Behind AXI (rtl_gen/bridge.py) the bridge keeps AXI_READ_SLACK cycles of read_latency for itself: a memory whose
# first R beat of a read is on the bus within read_latency - AXI_READ_SLACK cycles of its AR handshake never holds
# a chunk (the stall is decided two cycles ahead). An AXI memory answers a cycle after AR at the soonest, hence the
# least read_latency behind AXI.
AXI_READ_SLACK = 2
# With bursts (memory.burst_beats > 1) the bridge gathers a chunk's consecutive reads into one AR: a burst closes
# when it is full, in a cycle without a read, at a read elsewhere or at a 4 KB page's first beat. Whether the next
# read follows is seen a cycle after a read, the burst goes into the address queue then and to AR the cycle after:
# at most burst_beats + 1 cycles after its first read was made. The bridge keeps those cycles too, so
# the contract reads: beat k of a burst on the bus within read_latency - axi_read_slack(burst_beats) + k cycles of
# its AR handshake (one beat a cycle once the burst streams).
MAX_BURST_BEATS = 256         # AXI4 INCR


def axi_read_slack(burst_beats: int = 1) -> int:
    return AXI_READ_SLACK if burst_beats == 1 else AXI_READ_SLACK + burst_beats + 1


def min_axi_read_latency(burst_beats: int = 1) -> int:
    return axi_read_slack(burst_beats) + 1

# Writer: counters -> read addresses (1) -> accumulator/record read (1) -> bias add (1) -> two partial products
# (MULT_STAGES) -> their sum plus the rounding half (1) -> shift (1) -> clamp (1) -> the lanes rotated into the
# beat's order (1) -> beat register and port (1): the port shows the last beat 8 + MULT_STAGES cycles after the
# last slot. (One operation a stage, see docs/fpga.md "Timing status".)
WRITE_DRAIN = 8 + MULT_STAGES
# A step: one cycle to start the engines (STEP), one to see them both idle (STEP_WAIT), one to advance the step
# counters and sums (ADV: their enables are flip-flops set in STEP_WAIT, not the engines' busy flags).
STEP_OVERHEAD = 3
# The first load: one cycle to start it, one to see it finish.
START_OVERHEAD = 2
# The last tile's write: one cycle to start it, one to see it finish, one for the done pulse.
END_OVERHEAD = 3

# Vector chunk (residual add, global average pool), one channel per cycle:
# counters -> pixel-buffer read (1) -> beat register (1) -> slot select (1) -> sum (1) -> products (MULT_STAGES)
# -> their sum plus the rounding half (1) -> shift (1) -> clamp (1) -> into the output beat and the port register
# (1): the last beat reaches the port VEC_DRAIN cycles after the last iteration.
VEC_DRAIN = 8 + MULT_STAGES
# After the last step: one cycle for the done pulse.
VEC_END_OVERHEAD = 1

# The accelerator top (rtl_gen.top): a start with a chunk select latches the cfg word into that chunk's
# register and starts the chunk one cycle later.
TOP_DISPATCH = 1

# Frames pipelined over chunks (hw_model.schedule; the per-chunk sequencers, rtl_gen/sequencer.py). A job (one
# layer on one frame) begins in the cycle its sequencer has the entry's header ready, its chunk has retired the job
# before, its release has come and its tokens are in. Its descriptor's beats then go from the sequencer's table
# memory into the chunk's registers, one a cycle (desc_beats of them), and JOB_DISPATCH_FIXED more cycles bring the
# chunk's start. While the chunk runs, the sequencer loads the next entry's header and computes its frame, release
# and copy addresses (JOB_PREFETCH cycles). The job retires JOB_RETIRE cycles after the chunk's done (by then every
# write response of a memory that keeps its contract is in; otherwise the sequencer holds and counts it), and not
# before the next header is ready. A retired job's token (its chunk's position, hw_model.jobs) is in every sequencer's
# check within TOKEN_DELAY cycles (the checks go round the entry's tokens one a cycle). An entry whose frame lies
# outside the run is passed over: the next header is ready JOB_PREFETCH cycles later.
JOB_DISPATCH_FIXED = 2
JOB_RETIRE = 16
# With write bursts (memory.burst_beats > 1) a burst's AW goes with its last beat, and a memory takes its beats from
# then on, one a cycle: the last response of a job comes up to burst_beats cycles later, and the retire waits that
# much more.


def job_retire(burst_beats: int = 1) -> int:
    return JOB_RETIRE if burst_beats == 1 else JOB_RETIRE + burst_beats
TOKEN_DELAY = 7
JOB_PREFETCH = 30
