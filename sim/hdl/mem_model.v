// Memory model: NPORTS copies of the chunk memory port on one array of words (1 for a chunk alone, one per
// chunk for the accelerator top); port i's signals are slices i of the flattened buses. The protocol that
// hw_model's cycle model assumes:
//  - Read: rd_en/rd_addr sampled at a rising edge; rd_data shows that word LATENCY edges later (one beat per
//    request, one request per cycle, never stalls).
//  - Write: wr_en/wr_addr/wr_data sampled at a rising edge and stored at once (same-cycle writes in port order).
// Test access (not part of the protocol): at a rising edge with `load` high the contents of
// trips_mem_load.hex (a $readmemh file with @address lines) are written in; with `dump` high words
// dump_lo..dump_hi go to trips_mem_dump.hex. `oob` (sticky) flags an access outside the DEPTH words.
`default_nettype none
module mem_model #(
    parameter integer NPORTS = 1,
    parameter integer BUS = 64,
    parameter integer ADDR = 24,
    parameter integer DEPTH = 65536,
    parameter integer LATENCY = 4
) (
    input  wire                   clk,
    input  wire                   load,
    input  wire                   dump,
    input  wire [ADDR-1:0]        dump_lo,
    input  wire [ADDR-1:0]        dump_hi,
    input  wire [NPORTS-1:0]      rd_en,
    input  wire [NPORTS*ADDR-1:0] rd_addr,
    output wire [NPORTS*BUS-1:0]  rd_data,
    input  wire [NPORTS-1:0]      wr_en,
    input  wire [NPORTS*ADDR-1:0] wr_addr,
    input  wire [NPORTS*BUS-1:0]  wr_data,
    output reg                    oob
);
    localparam integer AW = $clog2(DEPTH);
    reg [BUS-1:0] words [0:DEPTH-1];
    reg [BUS-1:0] pipe [0:NPORTS*LATENCY-1];
    initial oob = 1'b0;
    integer p, i;
    // per port: the word index and whether the address lies outside the modelled words
    wire [AW-1:0]     ra [0:NPORTS-1];
    wire [AW-1:0]     wa [0:NPORTS-1];
    wire [NPORTS-1:0] ra_high, wa_high;
    genvar q;
    generate
        for (q = 0; q < NPORTS; q = q + 1) begin : g_addr
            assign ra[q] = rd_addr[q*ADDR +: AW];
            assign wa[q] = wr_addr[q*ADDR +: AW];
            if (AW < ADDR) begin : g_high
                assign ra_high[q] = |rd_addr[q*ADDR + AW +: ADDR - AW];
                assign wa_high[q] = |wr_addr[q*ADDR + AW +: ADDR - AW];
            end else begin : g_full
                assign ra_high[q] = 1'b0;
                assign wa_high[q] = 1'b0;
            end
        end
    endgenerate

    always @(posedge clk) begin
        for (p = 0; p < NPORTS; p = p + 1) begin
            pipe[p*LATENCY] <= rd_en[p] ? words[ra[p]] : {BUS{1'b0}};
            for (i = 1; i < LATENCY; i = i + 1) pipe[p*LATENCY + i] <= pipe[p*LATENCY + i - 1];
            if (wr_en[p]) words[wa[p]] <= wr_data[p*BUS +: BUS];
            if ((rd_en[p] && ra_high[p]) || (wr_en[p] && wa_high[p])) oob <= 1'b1;
        end
    end

    always @(posedge clk) begin
        if (load) $readmemh("trips_mem_load.hex", words);
        if (dump) $writememh("trips_mem_dump.hex", words, dump_lo, dump_hi);
    end

    genvar g;
    generate
        for (g = 0; g < NPORTS; g = g + 1) begin : g_out
            assign rd_data[g*BUS +: BUS] = pipe[g*LATENCY + LATENCY - 1];
        end
    endgenerate
endmodule
