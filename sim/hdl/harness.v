// Test harness: one generated chunk (module name in `CHUNK) on the memory model, with a cycle counter.
// `cycles` counts the rising edges after the one that samples `start`, up to and including the one that
// samples `done`.
`default_nettype none
module harness #(
    parameter integer BUS = 64,
    parameter integer ADDR = 24,
    parameter integer DEPTH = 65536,
    parameter integer LATENCY = 4,
    parameter integer CFG_BITS = 512
) (
    input  wire                clk,
    input  wire                rst,
    input  wire                start,
    input  wire [CFG_BITS-1:0] cfg,
    input  wire                load,
    input  wire                dump,
    input  wire [ADDR-1:0]     dump_lo,
    input  wire [ADDR-1:0]     dump_hi,
    output wire                busy,
    output wire                done,
    output wire [31:0]         cycles,
    output wire [31:0]         reads,      // read beats requested since start
    output wire [31:0]         writes,     // write beats since start
    output wire                finished,
    output wire                mem_oob
);
    wire            rd_en, wr_en;
    wire [ADDR-1:0] rd_addr, wr_addr;
    wire [BUS-1:0]  rd_data, wr_data;

    `CHUNK dut (
        .clk(clk), .rst(rst), .start(start), .cfg(cfg), .busy(busy), .done(done),
        .mem_rd_en(rd_en), .mem_rd_addr(rd_addr), .mem_rd_data(rd_data),
        .mem_wr_en(wr_en), .mem_wr_addr(wr_addr), .mem_wr_data(wr_data)
    );

    mem_model #(.NPORTS(1), .BUS(BUS), .ADDR(ADDR), .DEPTH(DEPTH), .LATENCY(LATENCY)) u_mem (
        .clk(clk), .load(load), .dump(dump), .dump_lo(dump_lo), .dump_hi(dump_hi), .rd_en(rd_en), .rd_addr(rd_addr), .rd_data(rd_data),
        .wr_en(wr_en), .wr_addr(wr_addr), .wr_data(wr_data), .oob(mem_oob)
    );

    run_counters #(.NPORTS(1)) u_count (
        .clk(clk), .rst(rst), .start(start), .done(done), .rd_en(rd_en), .wr_en(wr_en),
        .cycles(cycles), .reads(reads), .writes(writes), .finished(finished)
    );
endmodule
