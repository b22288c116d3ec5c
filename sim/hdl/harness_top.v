// Test harness for the accelerator top (module name in `TOP): all chunks on the multi-port memory model.
// `cycles` counts the rising edges after the one that samples `start`, up to and including the one that
// samples a chunk's `done`; `reads` and `writes` count beats on all ports in that time.
`default_nettype none
module harness_top #(
    parameter integer NCHUNK = 2,
    parameter integer SEL_BITS = 1,
    parameter integer BUS = 64,
    parameter integer ADDR = 24,
    parameter integer DEPTH = 65536,
    parameter integer LATENCY = 4,
    parameter integer CFG_BITS = 512
) (
    input  wire                clk,
    input  wire                rst,
    input  wire                start,
    input  wire [SEL_BITS-1:0] sel,
    input  wire [CFG_BITS-1:0] cfg,
    input  wire                load,
    input  wire                dump,
    input  wire [ADDR-1:0]     dump_lo,
    input  wire [ADDR-1:0]     dump_hi,
    output wire [NCHUNK-1:0]   busy,
    output wire [NCHUNK-1:0]   done,
    output wire [31:0]         cycles,
    output wire [31:0]         reads,
    output wire [31:0]         writes,
    output wire                finished,
    output wire                mem_oob
);
    wire [NCHUNK-1:0]      rd_en, wr_en;
    wire [NCHUNK*ADDR-1:0] rd_addr, wr_addr;
    wire [NCHUNK*BUS-1:0]  rd_data, wr_data;

    `TOP dut (
        .clk(clk), .rst(rst), .start(start), .sel(sel), .cfg(cfg), .busy(busy), .done(done),
        .mem_rd_en(rd_en), .mem_rd_addr(rd_addr), .mem_rd_data(rd_data),
        .mem_wr_en(wr_en), .mem_wr_addr(wr_addr), .mem_wr_data(wr_data)
    );

    mem_model #(.NPORTS(NCHUNK), .BUS(BUS), .ADDR(ADDR), .DEPTH(DEPTH), .LATENCY(LATENCY)) u_mem (
        .clk(clk), .load(load), .dump(dump), .dump_lo(dump_lo), .dump_hi(dump_hi),
        .rd_en(rd_en), .rd_addr(rd_addr), .rd_data(rd_data),
        .wr_en(wr_en), .wr_addr(wr_addr), .wr_data(wr_data), .oob(mem_oob)
    );

    run_counters #(.NPORTS(NCHUNK)) u_count (
        .clk(clk), .rst(rst), .start(start), .done(|done), .rd_en(rd_en), .wr_en(wr_en),
        .cycles(cycles), .reads(reads), .writes(writes), .finished(finished)
    );
endmodule
