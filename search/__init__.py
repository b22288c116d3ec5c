"""The differentiable co-search (network, per-layer precision, accelerator)."""
