"""hw_model: the one description of layers, accelerators and mappings, and the exact cost model."""
from .config import Accelerator, Chunk, Layer, MemoryInterface, load_layers
from .errors import ConfigError
from .mapping import LayerGeometry, Mapping, default_mapping, geometry

__all__ = ["Accelerator", "Chunk", "Layer", "MemoryInterface", "load_layers", "ConfigError", "LayerGeometry",
           "Mapping", "default_mapping", "geometry"]
