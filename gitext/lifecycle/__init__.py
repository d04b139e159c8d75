"""Data lifecycle: retention, scheduled maintenance, backups, recovery and health.

Modules import their heavy or rarely needed parts inside functions: `schedule.run_due` is called
by the background worker after every batch of git events and must cost little when nothing is due.
"""
