"""The SLS dashboard and alerts of the route (`elastic-inference:observability:*`)."""
