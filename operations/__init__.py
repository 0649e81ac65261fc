"""Watching the background work: /healthz, /metrics, the Tasks dashboard, logs and Sentry.

Apps write tasks with ``tasking``; this app only observes them and the processes that
run them, and imports no app but ``tasking``.
"""
