"""Amaranth generator of the accelerator template, driven by hw_model's description."""
