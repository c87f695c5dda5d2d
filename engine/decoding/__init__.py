"""Decoders: autoregressive, multi-step block diffusion and one step per block."""
