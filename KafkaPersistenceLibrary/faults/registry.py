"""Every kind of fault the library can make, found in the modules of ``faults/kinds/``.

The one place that lists faults: the random schedule draws from it, the fault
keywords look their kinds up in it, and a fast test checks that each kind has
keywords, docs, a README row and a timeline colour.
"""

import importlib
import pkgutil

from ..errors import KafkaPersistenceError
from . import kinds
from .fault import FaultKind


def _discover() -> dict[str, FaultKind]:
    """Each module's KINDS, modules in their ORDER (process faults first), kinds as each module lists them."""
    modules = [importlib.import_module(f"{kinds.__name__}.{info.name}") for info in pkgutil.iter_modules(kinds.__path__)]
    modules.sort(key=lambda module: (getattr(module, "ORDER", 99), module.__name__))
    return {kind.name: kind for module in modules for kind in getattr(module, "KINDS", ())}


KINDS: dict[str, FaultKind] = _discover()


def kind(name: str) -> FaultKind:
    """The kind called ``name`` (any case, ``_`` for ``-``), or one line naming the kinds there are."""
    text = str(name).strip().lower().replace("_", "-")
    if text not in KINDS:
        raise KafkaPersistenceError(f"Invalid fault kind '{name}': use one of {', '.join(KINDS)}.")
    return KINDS[text]


def require(kind_: FaultKind, cluster) -> None:
    """One line when ``cluster`` cannot make ``kind_``."""
    why = kind_.why_not(cluster)
    if why:
        raise KafkaPersistenceError(f"This cluster cannot make {kind_.name} faults: {why}.")

