"""The TF Serving workload and the checks that order a version change (`elastic-inference:serving:*`)."""
