"""The layers' regularizers (variational dropout, zoneout, DropConnect) as tensor functions.

They live in :mod:`lstmkit.core.regularizers`, below the engines, which draw zoneout's masks
themselves (the fused kernel inside the kernel, the reference loop with torch's generator);
this module keeps them importable next to the layers that take them as options.
"""

from lstmkit.core.regularizers import check_probability, drop_connect, variational_mask, zoneout, zoneout_keep

__all__ = ["check_probability", "drop_connect", "variational_mask", "zoneout", "zoneout_keep"]
