"""The host driver for a TRIPS accelerator behind AXI (numpy and hw_model only; runs on a board)."""
from hw_model.frame_program import load_frames_program as load_program

from .trips import TripsDriver

__all__ = ["TripsDriver", "load_program"]
