"""Atheris drives the F1 hypothesis properties (F3 bridge, HypothesisWorks/hypothesis#3912).

    python -m tests.fuzz.fuzz_properties CORPUS_DIR -max_total_time=600

Each property's ``.hypothesis.fuzz_one_input`` turns atheris' bytes into hypothesis' choices,
so coverage guidance explores the same properties the PR tier runs with 300 examples.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports(include=["juggler"]):
    from tests.fuzz import test_properties as props

_PROPERTIES = [
    props.test_ingest_any_bytes_raises_only_input_errors,
    props.test_decode_never_raises_and_is_stable,
    props.test_whole_line_chunks_see_every_line_once,
    props.test_detectors_are_deterministic_and_chunk_local,
]


def one_input(data: bytes) -> None:
    if not data:
        return
    # The first byte picks the property; the rest is hypothesis' choice sequence.
    prop = _PROPERTIES[data[0] % len(_PROPERTIES)]
    prop.hypothesis.fuzz_one_input(data[1:])  # type: ignore[attr-defined]


def main() -> None:
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
