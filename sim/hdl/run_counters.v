// Run counters shared by the harnesses: `cycles` counts the rising edges after the one that samples `start`,
// up to and including the one that samples `done`; `reads` and `writes` count the beats on the NPORTS
// memory ports in that time; `finished` goes high with that last edge.
`default_nettype none
module run_counters #(
    parameter integer NPORTS = 1
) (
    input  wire              clk,
    input  wire              rst,
    input  wire              start,
    input  wire              done,
    input  wire [NPORTS-1:0] rd_en,
    input  wire [NPORTS-1:0] wr_en,
    output reg  [31:0]       cycles,
    output reg  [31:0]       reads,
    output reg  [31:0]       writes,
    output reg               finished
);
    // beats on all ports this cycle (continuous assignments: evaluated at time 0 by every simulator)
    function automatic [31:0] popcount(input [NPORTS-1:0] v);
        integer k;
        begin
            popcount = 32'd0;
            for (k = 0; k < NPORTS; k = k + 1) popcount = popcount + {31'd0, v[k]};
        end
    endfunction
    wire [31:0] nr = popcount(rd_en);
    wire [31:0] nw = popcount(wr_en);

    always @(posedge clk) begin
        if (rst || start) begin
            cycles <= 32'd0;
            reads <= 32'd0;
            writes <= 32'd0;
            finished <= 1'b0;
        end else if (!finished) begin
            cycles <= cycles + 32'd1;
            reads <= reads + nr;
            writes <= writes + nw;
            if (done) finished <= 1'b1;
        end
    end
endmodule
