"""The FPGA flow: the hand-off bundle a hardware engineer takes into Vivado or yosys/nextpnr, and the open tools
run on it here. `python -m fpga [--config FILE] [--target PART] [--out DIR] [--no-run]` (`make fpga`).

Writes <out>/ (default out/fpga/<config name>/), all of it generated from the one description (hw_model):
  rtl/<top>.v, rtl/files.f        the accelerator behind AXI (rtl_gen/frames.py) and its file list
  constraints/<top>.xdc, .lpf     the clock of the config (Xilinx, ECP5); no pins: the core sits inside a design
  vivado/build.tcl                Vivado: project, IP packaging with the AXI interfaces, a Zynq-7000 block
                                  design around it, synthesis, implementation, bitstream
  ecp5/build.sh                   yosys + nextpnr-ecp5 for the ECP5 part (out of context: no IO buffers)
  regmap/<name>_regs.{md,h,py}    control registers, job tables, descriptor layout, cfg fields
  mem/program.json, mem/*.hex     the frames program for the host driver (driver/): weights, requantization
                                  records and job tables; a test input a frame (.hex, .npy) and their logits
  host/driver, host/hw_model      the host driver and the description it reads (numpy and pyyaml only)
  reports/                        the tools' own logs and reports, resources.json/.md (synthesized counts
                                  against hw_model's estimate), written when the flows run (default: they do)
  README.md                       for the hardware engineer

The bundle is written to a temporary folder and renamed into place: nothing half-written is left under out/.
"""
