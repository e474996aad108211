"""Experiments: assignment and holdouts (`assign`), fixed-horizon statistics (`stats`),
always-valid sequential inference (`sequential`), Thompson sampling (`bandits`), send-time
optimization (`send_time`), and the report that reads them off the log (`report`).

All pure: data and `now` in, numbers and decisions out. docs/experiments.md explains each
statistic with its reference and how to read a result.
"""
