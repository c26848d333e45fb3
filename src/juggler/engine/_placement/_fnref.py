"""Send functions to worker processes by reference (module + qualified name), not by value."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, final

from .._errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Callable


@final
class FunctionRef:
    """A picklable handle on a module-level function, resolved once in each process.

    The placement decorators put a ``Stage`` object where the function was
    (``@juggler.cpu def parse(...)`` makes ``module.parse`` a stage), so plain pickling by
    name would find the stage, not the function. Resolving through ``.fn`` undoes that.
    """

    __slots__ = ("_fn", "module", "qualname")

    def __init__(self, fn: Callable[..., Any]) -> None:
        module = getattr(fn, "__module__", None)
        qualname = getattr(fn, "__qualname__", None)
        if not module or not qualname or "<" in qualname:
            raise ConfigError(
                f"{fn!r} cannot run in a worker process: use a module-level function "
                "(lambdas and nested functions cannot be imported by a spawned worker)"
            )
        if module == "__main__":
            main = importlib.import_module("__main__")
            if getattr(main, "__file__", None) is None:
                raise ConfigError(
                    f"{qualname} is defined in an interactive session; move it to a module"
                )
        self.module = module
        self.qualname = qualname
        self._fn: Callable[..., Any] | None = fn

    def __reduce__(self) -> tuple[Any, ...]:
        return (_resolve_ref, (self.module, self.qualname))

    def __call__(self, item: Any) -> Any:
        fn = self._fn
        if fn is None:
            fn = self._fn = _lookup(self.module, self.qualname)
        return fn(item)

    def __repr__(self) -> str:
        return f"FunctionRef({self.module}:{self.qualname})"


def _lookup(module: str, qualname: str) -> Callable[..., Any]:
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    inner = getattr(obj, "fn", None)
    if callable(inner) and getattr(inner, "__qualname__", None) == qualname:
        obj = inner
    if not callable(obj):
        raise TypeError(f"{module}:{qualname} is not callable")
    return obj  # type: ignore[no-any-return]


_CACHE: dict[tuple[str, str], FunctionRef] = {}


def _resolve_ref(module: str, qualname: str) -> FunctionRef:
    # One FunctionRef per function per process, so each batch does not re-import.
    key = (module, qualname)
    ref = _CACHE.get(key)
    if ref is None:
        ref = object.__new__(FunctionRef)
        ref.module, ref.qualname, ref._fn = module, qualname, None
        _CACHE[key] = ref
    return ref
