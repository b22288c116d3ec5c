"""Simulation of the generated RTL: cocotb testbenches on Verilator and Icarus, and the scoreboard."""
