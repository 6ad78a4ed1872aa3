"""The elastic-inference guardrail policy pack (see policies.py)."""
