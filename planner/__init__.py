"""Capacity and cost planner: replay a traffic trace through a stack's autoscaling, offline.

`python -m planner` (see __main__.py). The HPA is upstream's algorithm (hpa.py), the timings are
named values with their sources (params.py), the loop is simulate.py.
"""
