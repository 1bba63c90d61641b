"""``python -m lstmkit.core.engines``: print the engine policy table
(:data:`lstmkit.core.engines.select.POLICY`)."""

from lstmkit.core.engines.select import policy_table

print(policy_table())
