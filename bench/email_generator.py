"""The accounts "email all active users" generator, with its steps on a queue of their own.

Loaded by the benchmark's generator worker (``--include bench.email_generator``) so that
process runs generator steps only and its memory is the generator's alone.
"""

from dataclasses import replace

from accounts.tasks import EMAIL_ACTIVE_USERS
from tasking import generators

STEP_QUEUE = "bench-generator"
NAME = "bench.email_active_users"

generators.register(replace(generators.get(EMAIL_ACTIVE_USERS), name=NAME, step_queue=STEP_QUEUE))
