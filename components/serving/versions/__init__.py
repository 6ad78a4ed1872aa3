"""The version switch, in one place: a served version changes only when it is safe, and says so
when it is not.

- `served.py`: the served-version file the readiness probe reads, and the probe.
- `spec.py`: the check Jobs' manifests, their account, their time budget (pure builders).
- `gate.py`: the components, `RetireCheck` (before the model config) and `ServeGate` (before the
  endpoint).
- `checks.py`: the checks themselves, a standard-library script the Jobs run in a stock image.
"""
