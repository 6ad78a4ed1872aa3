"""The cluster: its Kubernetes provider, the stack's namespace, the metrics adapter (`elastic-inference:cluster:*`)."""
