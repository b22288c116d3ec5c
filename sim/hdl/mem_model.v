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
    input  wire [BUS-1:0]  wr_data,
    output reg             oob      // sticky: an access fell outside the DEPTH words modelled
);
    localparam integer AW = $clog2(DEPTH);
    reg [BUS-1:0] words [0:DEPTH-1];
    initial oob = 1'b0;
    // DEPTH is a power of two: an address is outside the modelled words when a bit above AW is set.
    wire rd_high, wr_high;
    generate
        if (AW < ADDR) begin : g_high
            assign rd_high = |rd_addr[ADDR-1:AW];
            assign wr_high = |wr_addr[ADDR-1:AW];
        end else begin : g_full
            assign rd_high = 1'b0;
            assign wr_high = 1'b0;
        end
    endgenerate
    reg [BUS-1:0] pipe [0:LATENCY-1];
    integer i;

    always @(posedge clk) begin
        pipe[0] <= rd_en ? words[rd_addr[AW-1:0]] : {BUS{1'b0}};
        for (i = 1; i < LATENCY; i = i + 1) pipe[i] <= pipe[i-1];
        if (wr_en) words[wr_addr[AW-1:0]] <= wr_data;
        if ((rd_en && rd_high) || (wr_en && wr_high)) oob <= 1'b1;
    end

    always @(posedge clk) begin
        if (load) $readmemh("trips_mem_load.hex", words);
        if (dump) $writememh("trips_mem_dump.hex", words, dump_lo, dump_hi);
    end
    assign rd_data = pipe[LATENCY-1];
endmodule
