"""Pods that run one of the stack's standard-library scripts once (the version checks, the idle
schedule's scale): their pod spec, their account, and how a script reaches a stock Python image."""
