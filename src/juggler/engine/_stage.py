"""Stage specifications: where a function runs (its placement) and how (its options).

A stage is a frozen value. The placement functions (``aio``, ``io``, ``cpu``, ``auto``) build
one from a callable, as a decorator used bare or with options, or as a plain call::

    @juggler.cpu
    def parse(chunk): ...

    @juggler.aio(concurrency=64, timeout_s=5, retries=2)
    async def fetch(url): ...

    write = juggler.io(write_file, concurrency=4)

A decorated function is still callable as before, so it can be tested on its own.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, final, overload

from ._backends._procpool._protocol import check_placeable
from ._errors import ConfigError
from ._retry import RetryPolicy

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

Placement: TypeAlias = Literal["aio", "io", "cpu", "auto"]
OnError: TypeAlias = Literal["fail", "skip"]

_DEFAULT_CONCURRENCY: dict[str, int | None] = {"aio": 64, "io": 16, "cpu": None, "auto": 8}


@final
@dataclass(frozen=True, slots=True, kw_only=True)
class Stage:
    """A function placed on the event loop, in threads or in processes, with its options.

    Build stages with :func:`aio`, :func:`io`, :func:`cpu` or :func:`auto` rather than
    directly; they take these options, all keyword-only.

    Options:

        name: The stage's name in reports (default: the function's name).
        concurrency: How many items (``cpu``: batches) are in flight at once.
        timeout_s: Limit for each attempt; past it the attempt fails with ``ItemTimeout``.
        retries: Extra attempts after an error listed in ``retry_on`` (default 0).
        backoff_base_s: Wait after the first failed attempt; doubles each time (default 1).
        backoff_max_s: The longest wait between attempts (default 30).
        jitter: Fraction of each wait removed at random (default 0.1; 0 for exact waits).
        retry_on: Exception types that earn another attempt (default ``(Exception,)``).
        no_retry_on: Exception types never retried.
        on_error: ``"fail"`` stops the whole run at the first item that fails for good and
            raises ``PipelineFailed``; ``"skip"`` records it in ``RunReport.failures`` and
            goes on.
        ordered: Emit outputs in the order items arrived (a slow item holds back later ones).
        flat: The function returns (or yields) many outputs per item; each goes downstream.
    """

    fn: Callable[..., Any]
    placement: Placement
    name: str
    concurrency: int | None
    timeout_s: float | None
    retry: RetryPolicy
    on_error: OnError
    ordered: bool
    flat: bool

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)

    def with_options(self, **options: Any) -> Stage:
        """A copy of this stage with some options changed (same names as the placements)."""
        return _build(self.fn, self.placement, **{**_options_of(self), **options})


@final
@dataclass(frozen=True, slots=True, kw_only=True)
class Batch:
    """Group items into lists of ``size`` (the last may be shorter).

    With ``max_wait_s``, a partial batch is sent once its first item has waited that long,
    so a slow source still makes progress. ``size=None`` collects every item into one list.
    """

    size: int | None
    max_wait_s: float | None
    name: str = "batch"


@final
@dataclass(frozen=True, slots=True, kw_only=True)
class Reduce:
    """Fold every item into one value: ``acc = fn(acc, item)``, starting from ``initial``.

    ``fn`` runs on the event loop, so it must be quick (or be a coroutine function). For a
    heavy merge, ``batch(size=None)`` followed by a ``cpu`` stage keeps the loop free.
    Items arrive in completion order unless the stage before is ``ordered``.
    """

    fn: Callable[[Any, Any], Any]
    initial: Any
    name: str


@final
@dataclass(frozen=True, slots=True, kw_only=True)
class Branches:
    """Send every item to each branch; the branches run side by side and are joined per item.

    Each branch is a stage or a sequence of stages producing exactly one output per input
    (so no ``flat``, ``batch`` or ``reduce`` inside a branch). When every branch has an
    output for an item, ``join(*outputs)`` (default: the tuple of outputs) goes downstream.
    An item that fails in any branch fails as a whole.
    """

    branches: tuple[tuple[Stage, ...], ...]
    join: Callable[..., Any] | None
    name: str


AnyStage: TypeAlias = Stage | Batch | Reduce | Branches


def _options_of(stage: Stage) -> dict[str, Any]:
    retry = stage.retry
    return {
        "name": stage.name,
        "concurrency": stage.concurrency,
        "timeout_s": stage.timeout_s,
        "retries": retry.retries,
        "backoff_base_s": retry.backoff_base_s,
        "backoff_max_s": retry.backoff_max_s,
        "jitter": retry.jitter,
        "retry_on": retry.retry_on,
        "no_retry_on": retry.no_retry_on,
        "on_error": stage.on_error,
        "ordered": stage.ordered,
        "flat": stage.flat,
    }


def _build(
    fn: Callable[..., Any],
    placement: Placement,
    *,
    name: str | None = None,
    concurrency: int | None = None,
    timeout_s: float | None = None,
    retries: int = 0,
    backoff_base_s: float = 1.0,
    backoff_max_s: float = 30.0,
    jitter: float = 0.1,
    retry_on: tuple[type[BaseException], ...] = (Exception,),
    no_retry_on: tuple[type[BaseException], ...] = (),
    on_error: OnError = "fail",
    ordered: bool = False,
    flat: bool = False,
) -> Stage:
    if isinstance(fn, Stage):
        fn = fn.fn
    if not callable(fn):
        raise ConfigError(f"a stage needs a callable, got {fn!r}")
    is_async = is_coroutine_callable(fn) or is_async_generator_callable(fn)
    if placement == "aio" and not is_async:
        raise ConfigError(f"aio stage {_name_of(fn)!r} needs an async function (async def)")
    if placement != "aio" and is_async:
        raise ConfigError(
            f"{placement} stage {_name_of(fn)!r} got an async function; place it with aio"
        )
    if is_async_generator_callable(fn) and not flat:
        raise ConfigError(f"aio stage {_name_of(fn)!r} is an async generator: pass flat=True")
    if placement == "cpu":
        # Only what cannot change later: the module has not bound the decorated name yet.
        # Whether the name leads back to ``fn`` is checked when a run first uses the stage.
        check_placeable(fn)
    if concurrency is None:
        concurrency = _DEFAULT_CONCURRENCY[placement]
    if concurrency is not None and concurrency < 1:
        raise ConfigError(f"concurrency must be >= 1, got {concurrency}")
    if timeout_s is not None and timeout_s <= 0:
        raise ConfigError(f"timeout_s must be > 0, got {timeout_s}")
    if on_error not in ("fail", "skip"):
        raise ConfigError(f"on_error must be 'fail' or 'skip', got {on_error!r}")
    retry = RetryPolicy(
        retries=retries,
        backoff_base_s=backoff_base_s,
        backoff_max_s=backoff_max_s,
        jitter=jitter,
        retry_on=tuple(retry_on),
        no_retry_on=tuple(no_retry_on),
    )
    return Stage(
        fn=fn,
        placement=placement,
        name=name or _name_of(fn),
        concurrency=concurrency,
        timeout_s=timeout_s,
        retry=retry,
        on_error=on_error,
        ordered=ordered,
        flat=flat,
    )


def is_coroutine_callable(fn: object) -> bool:
    """A coroutine function, or an object whose ``__call__`` is one (a stateful stage)."""
    call = vars(type(fn)).get("__call__")  # the class's own method, not a callable check
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(call)


def is_async_generator_callable(fn: object) -> bool:
    """An async generator function, or an object whose ``__call__`` is one."""
    call = vars(type(fn)).get("__call__")
    return inspect.isasyncgenfunction(fn) or inspect.isasyncgenfunction(call)


def _name_of(fn: Callable[..., Any]) -> str:
    return getattr(fn, "__name__", None) or type(fn).__name__


def _placement(placement: Placement, fn: Callable[..., Any] | None, options: Any) -> Any:
    if fn is None:
        return lambda f: _build(f, placement, **options)
    return _build(fn, placement, **options)


@overload
def aio(fn: Callable[..., Any], /, **options: Any) -> Stage: ...
@overload
def aio(fn: None = None, /, **options: Any) -> Callable[[Callable[..., Any]], Stage]: ...
def aio(fn: Callable[..., Any] | None = None, /, **options: Any) -> Any:
    """Run a coroutine function on the event loop: for high-volume I/O (HTTP, DB, retrieval).

    Up to ``concurrency`` (default 64) items are awaited at once. A timed-out attempt is
    cancelled. With ``flat=True`` the function may return an iterable or be an async
    generator; every output goes downstream.

    Options are those of :class:`Stage`.
    """
    return _placement("aio", fn, options)


@overload
def io(fn: Callable[..., Any], /, **options: Any) -> Stage: ...
@overload
def io(fn: None = None, /, **options: Any) -> Callable[[Callable[..., Any]], Stage]: ...
def io(fn: Callable[..., Any] | None = None, /, **options: Any) -> Any:
    """Run a blocking function in the stage's own pool of ``concurrency`` threads (default 16).

    Cancellation handling: threads cannot be interrupted. An attempt past ``timeout_s`` is
    abandoned (its thread is replaced and counted in the stage's ``abandoned_threads``) and
    the item fails with ``ItemTimeout``; the abandoned thread never blocks the process' exit.

    Options are those of :class:`Stage`.
    """
    return _placement("io", fn, options)


@overload
def cpu(fn: Callable[..., Any], /, **options: Any) -> Stage: ...
@overload
def cpu(fn: None = None, /, **options: Any) -> Callable[[Callable[..., Any]], Stage]: ...
def cpu(fn: Callable[..., Any] | None = None, /, **options: Any) -> Any:
    """Run a CPU-bound function in worker processes, one per core by default.

    ``fn`` must be importable by a spawned worker (a module-level function); items and
    results are pickled, and small items are sent in batches. ``concurrency`` bounds how many
    batches of this stage are in flight (default: twice the number of workers). If a worker
    dies, only the item it held is affected; see the process pool for the details.

    Options are those of :class:`Stage`.
    """
    return _placement("cpu", fn, options)


@overload
def auto(fn: Callable[..., Any], /, **options: Any) -> Stage: ...
@overload
def auto(fn: None = None, /, **options: Any) -> Callable[[Callable[..., Any]], Stage]: ...
def auto(fn: Callable[..., Any] | None = None, /, **options: Any) -> Any:
    """Start ``fn`` in threads, measure it, and move it to processes if the GIL is its limit.

    While the first items run in ``concurrency`` threads (default 8), the stage compares the
    CPU time its threads use with the wall time that passes. Threads that together keep about
    one core busy are serialised by the GIL: the stage then sends its remaining items to the
    process pool (when ``fn`` is importable by a worker). The decision and the figures behind
    it are in the stage's report (``StageReport.decision``).

    Options are those of :class:`Stage`.
    """
    return _placement("auto", fn, options)


def batch(size: int | None = None, *, max_wait_s: float | None = None) -> Batch:
    """A stage that groups items into lists: see :class:`Batch`."""
    if size is not None and size < 1:
        raise ConfigError(f"batch size must be >= 1, got {size}")
    if max_wait_s is not None and max_wait_s <= 0:
        raise ConfigError(f"max_wait_s must be > 0, got {max_wait_s}")
    return Batch(size=size, max_wait_s=max_wait_s)


def reduce(fn: Callable[[Any, Any], Any], *, initial: Any, name: str | None = None) -> Reduce:
    """A stage that folds every item into one value: see :class:`Reduce`."""
    if not callable(fn):
        raise ConfigError(f"reduce needs a callable, got {fn!r}")
    return Reduce(fn=fn, initial=initial, name=name or f"reduce:{_name_of(fn)}")


def branches(
    *branches: Stage | Sequence[Stage],
    join: Callable[..., Any] | None = None,
    name: str = "branches",
) -> Branches:
    """Fan each item out to branches that run side by side, then join: see :class:`Branches`."""
    if len(branches) < 2:
        raise ConfigError("branches needs at least two branches")
    chains: list[tuple[Stage, ...]] = []
    for branch in branches:
        chain = (branch,) if isinstance(branch, Stage) else tuple(branch)
        if not chain:
            raise ConfigError("a branch needs at least one stage")
        for stage in chain:
            if not isinstance(stage, Stage):
                raise ConfigError(f"a branch holds placed stages only, got {stage!r}")
            if stage.flat:
                raise ConfigError(f"stage {stage.name!r} is flat: a branch must map 1:1")
        chains.append(chain)
    return Branches(branches=tuple(chains), join=join, name=name)


def as_stage(obj: Any) -> AnyStage:
    """Turn a pipeline argument into a stage: plain callables are placed by their kind."""
    if isinstance(obj, Stage | Batch | Reduce | Branches):
        return obj
    if callable(obj):
        async_fn = is_coroutine_callable(obj) or is_async_generator_callable(obj)
        return _build(obj, "aio" if async_fn else "auto", flat=is_async_generator_callable(obj))
    raise ConfigError(f"not a stage or a callable: {obj!r}")
