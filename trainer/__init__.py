"""PyTorch trainer for the two-stage variational object-aware hand pose pipeline and its baselines."""
