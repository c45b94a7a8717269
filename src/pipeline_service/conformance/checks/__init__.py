"""The checks, one module per area; importing this package registers them all.

Every module of this package is imported here, so a new module of checks needs no other edit:
its `@check(...)` functions are registered, and its area is listed after the known ones.
"""

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
