"""The model in OSS and the volume that mounts it (`elastic-inference:storage:*`)."""
