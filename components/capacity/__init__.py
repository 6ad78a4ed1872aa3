"""Where the GPUs come from: a spot node pool or ECI, the ECI image cache, and the placement they
hand the pods (`elastic-inference:capacity:*`)."""
