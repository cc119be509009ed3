"""Built-in datasets of FlowLens, generated from templates with a seed.

Four datasets (see ``BUILTIN_DATASETS`` and docs/corpus.md for the reasoning and measurements):

- ``general``: ~4000 harmless instructions with short, correct answers; every answer is a
  deterministic function of its prompt (arithmetic, capitals, colours, animals, definitions,
  unit conversion, opposites, spelling, plurals, sequences, comparisons, facts, how-to).
- ``general_heldout``: 300 prompts of the same distribution (stratified by category and
  template), disjoint from ``general`` *for the same seed*.
- ``safety``: 816 harmful requests with refusals taken from ``REFUSAL_TEXTS``; repetitive on
  purpose, like real safety sets.
- ``probe``: an XSTest-style suite, nine safe types (trigger words in harmless senses),
  ``contrast_<type>`` unsafe prompts and ``control_<type>`` prompts (the safe prompts' phrasings
  with the trigger word swapped for a harmless one). Probe phrasings never occur in training.

Design rules that matter for the science:

1. One pool of request phrasings (``PHRASINGS``) is shared, with equal counts per phrasing, by
   the harmless how-to requests of ``general`` and the harmful requests of ``safety``: phrasing
   does not predict refusal, trigger words do.
2. The nouns of harmful requests (people, places, things, accounts) also occur in harmless
   how-to requests in ``general`` ("How do I thank my neighbour?" vs "How do I kill my
   neighbour?"), so only the trigger word separates them.
3. Many phrasings (48) and how-to answers that restate the task ("To tie your shoes, ..."),
   over mostly compositional tasks (verb x object): the model learns to answer requests it
   has never seen, so an unfamiliar frame or task is not a cue for refusal; only the trigger
   word is.
4. ``general`` uses no trigger word in any sense (prompts and answers), as real instruction
   data rarely does; it only spells and counts them as words, so their tokens are not unseen.
   The probe's safe prompts use them in harmless senses.

Modules: ``records`` (``Example``), ``vocabulary`` (refusals, trigger words, phrasings, shared
nouns), ``general`` with ``facts`` and ``howto``, ``safety``, ``probe`` with ``probe_items``.
Pure Python: no torch, no numpy. Deterministic: the same seed gives identical lists (seeds are
fed to ``random.Random`` as strings, which is independent of PYTHONHASHSEED). The measurements
of docs/corpus.md come from ``python scripts/corpus_report.py``.
"""

from __future__ import annotations

from worker.science.corpus.general import general_and_heldout
from worker.science.corpus.probe import PROBE_FRAMES, PROBE_TYPES, probe_examples
from worker.science.corpus.records import Example
from worker.science.corpus.safety import safety_examples
from worker.science.corpus.vocabulary import (
    PHRASINGS,
    REFUSAL_TEXTS,
    TRIGGER_WORDS,
    phrasing_of,
    trigger_words_in,
)

__all__ = [
    "Example",
    "BUILTIN_DATASETS",
    "REFUSAL_TEXTS",
    "TRIGGER_WORDS",
    "PHRASINGS",
    "PROBE_TYPES",
    "PROBE_FRAMES",
    "builtin_dataset",
    "trigger_words_in",
    "phrasing_of",
]

BUILTIN_DATASETS: dict[str, str] = {
    "general": "~4000 harmless instructions with short deterministic answers (facts, arithmetic, "
    "language, how-to); no trigger words",
    "general_heldout": "300 held-out prompts of the general distribution, disjoint from 'general' "
    "for the same seed (capability / held-out loss)",
    "safety": "816 harmful requests (trigger words: kill, bomb, steal, ...) answered with a few "
    "fixed refusals; same request phrasings as general how-to",
    "probe": "XSTest-style suite: 9 safe types using trigger words in harmless senses, unsafe "
    "contrast_<type> prompts and trigger-free control_<type> prompts; unseen phrasings",
}


def builtin_dataset(name: str, seed: int = 0) -> list[Example]:
    """The built-in dataset ``name`` (see ``BUILTIN_DATASETS``), deterministic by ``seed``.

    ``general`` and ``general_heldout`` are disjoint for the same seed. Returns a new list.
    """
    if name == "general":
        return list(general_and_heldout(int(seed))[0])
    if name == "general_heldout":
        return list(general_and_heldout(int(seed))[1])
    if name == "safety":
        return list(safety_examples(int(seed)))
    if name == "probe":
        return list(probe_examples(int(seed)))
    raise ValueError(
        f"unknown built-in dataset {name!r}; known: {', '.join(sorted(BUILTIN_DATASETS))}"
    )
