"""Prove elasticity: drive an open-loop request rate at the predict endpoint, watch the HPA
scale out and back in, and report a timeline, a chart and a verdict. See docs/loadtest.md."""
