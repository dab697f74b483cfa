"""Scout's Slack face: `/scout` (read-only), the run-summary channel, Promote/Dismiss, and the daily schedule.

Everything that decides or writes lives in engine/; this package turns Slack events into engine calls and
engine results into Block Kit.
"""
