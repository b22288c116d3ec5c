// Memory model of the chunk's memory port: the protocol that hw_model's cycle model assumes.
//  - Read: rd_en/rd_addr sampled at a rising edge; rd_data shows that word LATENCY edges later (one beat per
//    request, one request per cycle, never stalls).
//  - Write: wr_en/wr_addr/wr_data sampled at a rising edge and stored at once.
// Test access (not part of the protocol): at a rising edge with `load` high the contents of LOAD_FILE (a
// $readmemh file with @address lines) are written in; with `dump` high words dump_lo..dump_hi go to DUMP_FILE.
`default_nettype none
module mem_model #(
    parameter integer BUS = 64,
    parameter integer ADDR = 24,
    parameter integer DEPTH = 65536,
    parameter integer LATENCY = 4
) (
    input  wire            clk,
    input  wire            load,
    input  wire            dump,
    input  wire [ADDR-1:0] dump_lo,
    input  wire [ADDR-1:0] dump_hi,
    input  wire            rd_en,
    input  wire [ADDR-1:0] rd_addr,
    output wire [BUS-1:0]  rd_data,
    input  wire            wr_en,
    input  wire [ADDR-1:0] wr_addr,
    input  wire [BUS-1:0]  wr_data
);
    reg [BUS-1:0] mem [0:DEPTH-1];
    reg [BUS-1:0] pipe [0:LATENCY-1];
    integer i;

    always @(posedge clk) begin
        pipe[0] <= rd_en ? mem[rd_addr[$clog2(DEPTH)-1:0]] : {BUS{1'b0}};
        for (i = 1; i < LATENCY; i = i + 1) pipe[i] <= pipe[i-1];
        if (wr_en) mem[wr_addr[$clog2(DEPTH)-1:0]] <= wr_data;
    end

    always @(posedge clk) begin
        if (load) $readmemh("trips_mem_load.hex", mem);
        if (dump) $writememh("trips_mem_dump.hex", mem, dump_lo[$clog2(DEPTH)-1:0], dump_hi[$clog2(DEPTH)-1:0]);
    end
    assign rd_data = pipe[LATENCY-1];
endmodule
