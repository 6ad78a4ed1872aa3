"""The edge: what the cluster's ingress-nginx logs for the requests it refuses, which decides
whether they scale the fleet (`autoscaling.refusedRequests`)."""
