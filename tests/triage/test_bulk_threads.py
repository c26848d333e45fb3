"""The compiled pass is safe from many threads at once (small inputs scan in ``io`` threads)."""

from __future__ import annotations

import threading

from juggler.triage.detect import _bulk, _scan


def test_threads_scanning_at_once_each_get_the_same_answer() -> None:
    text = "\n".join(
        f"step {i}: ok" if i % 7 else f"src/m{i}.c:3:1: error: expected ';'" for i in range(4000)
    )
    expected = _bulk.candidates(text, _scan.ALL_RULES)
    assert expected is not None
    answers: list[object] = []
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def scan() -> None:
        start.wait()
        try:
            answers.extend(_bulk.candidates(text, _scan.ALL_RULES) for _ in range(20))
        except BaseException as exc:  # ScratchInUseError when threads share one scratch
            errors.append(exc)

    threads = [threading.Thread(target=scan) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert answers == [expected] * 160
