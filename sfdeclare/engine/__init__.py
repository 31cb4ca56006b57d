"""Pure decisions, values in and values out: bind declared levels to live entities, the one declared-vs-live
comparison (diff), the planner, plan files, drift, coverage, explain, and the applier (which executes a plan
through whatever sender it is given). No I/O; no user-facing sentences (those are in ``render``).
"""
