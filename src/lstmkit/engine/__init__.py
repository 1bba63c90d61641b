"""Running cells over sequences: the reference runner (and, later, fused fast paths)."""

from lstmkit.engine.runner import (
    RunResult,
    State,
    check_lengths,
    detach_state,
    lengths_to_mask,
    map_state,
    run,
    stack_states,
)

__all__ = [
    "RunResult",
    "State",
    "check_lengths",
    "detach_state",
    "lengths_to_mask",
    "map_state",
    "run",
    "stack_states",
]
