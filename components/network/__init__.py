"""The public endpoint (`elastic-inference:network:*`)."""
