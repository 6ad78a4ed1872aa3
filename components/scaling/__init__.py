"""The autoscaling of the serving pods: the HPA, the idle schedule, the edge-log check
(`elastic-inference:scaling:*`)."""
