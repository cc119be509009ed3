"""``general`` and ``general_heldout``: harmless instructions with short answers that are a
deterministic function of the prompt, and how-to requests in the shared ``PHRASINGS``.

Each question generator yields ``(stratum, prompt, response)``; the stratum names the question
template, so that the held-out split keeps every template's share."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache
from typing import NamedTuple

from worker.science.corpus import facts as F
from worker.science.corpus.howto import balanced_phrasing_sample, howto_tasks
from worker.science.corpus.records import Example, seeded_rng

HELDOUT_SIZE = 300
HOWTO_PER_PHRASING = 40

Questions = Iterator[tuple[str, str, str]]  # (stratum, prompt, response)


def _capitalised(s: str) -> str:
    return s[:1].upper() + s[1:]


def _spelled(w: str) -> str:
    return "-".join(w.upper()) + "."


class SameAnswer(NamedTuple):
    """Questions about one row of a facts table that share an answer. ``fields`` names the
    row's columns in the templates; the questions' strata are the table key + "0", "1", ..."""

    fields: str
    answer: str
    questions: tuple[str, ...]


SAME_ANSWER: dict[str, SameAnswer] = {
    "add": SameAnswer(
        "a b sum",
        "{a} plus {b} is {sum}.",
        ("What is {a} plus {b}?", "Add {a} and {b}.", "What is the sum of {a} and {b}?"),
    ),
    "sub": SameAnswer(
        "a b diff", "{a} minus {b} is {diff}.", ("What is {a} minus {b}?", "Subtract {b} from {a}.")
    ),
    "mul": SameAnswer(
        "a b prod", "{a} times {b} is {prod}.", ("What is {a} times {b}?", "Multiply {a} by {b}.")
    ),
    "cap": SameAnswer(
        "country city",
        "The capital of {country} is {city}.",
        (
            "What is the capital of {country}?",
            "Name the capital city of {country}.",
            "Which city is the capital of {country}?",
        ),
    ),
    "col": SameAnswer(
        "thing colour Thing",
        "{Thing} is {colour}.",
        (
            "What colour is {thing}?",
            "What is the colour of {thing}?",
            "Tell me the colour of {thing}.",
        ),
    ),
    "legs": SameAnswer(
        "animal n",
        "A {animal} has {n} legs.",
        ("How many legs does a {animal} have?", "Count the legs of a {animal}."),
    ),
    "sound": SameAnswer(
        "animal verb",
        "A {animal} {verb}.",
        ("What sound does a {animal} make?", "What noise does a {animal} make?"),
    ),
    "baby": SameAnswer(
        "animal young",
        "A baby {animal} is called a {young}.",
        ("What is a baby {animal} called?", "What do you call a young {animal}?"),
    ),
    "home": SameAnswer(
        "animal home", "A {animal} lives in {home}.", ("Where does a {animal} live?",)
    ),
    "food": SameAnswer("animal food", "A {animal} eats {food}.", ("What does a {animal} eat?",)),
    "def": SameAnswer(
        "word meaning",
        "The word {word} means {meaning}.",
        (
            "What does the word {word} mean?",
            "Define the word {word}.",
            "What is the meaning of {word}?",
        ),
    ),
    "conv": SameAnswer(
        "n big m small",
        "{n} {big} is {m} {small}.",
        ("How many {small} are in {n} {big}?", "Convert {n} {big} to {small}."),
    ),
    "opp": SameAnswer(
        "word opposite",
        "The opposite of {word} is {opposite}.",
        ("What is the opposite of {word}?", "Give me the opposite of {word}."),
    ),
    "spell": SameAnswer(
        "word spelled", "{spelled}", ("How do you spell {word}?", "Spell the word {word}.")
    ),
    "first": SameAnswer(
        "word letter",
        "The first letter of {word} is {letter}.",
        ("What is the first letter of the word {word}?",),
    ),
    "count": SameAnswer(
        "word n", "The word {word} has {n} letters.", ("How many letters are in the word {word}?",)
    ),
    "plural": SameAnswer(
        "one many",
        "The plural of {one} is {many}.",
        ("What is the plural of {one}?", "What do you call more than one {one}?"),
    ),
    "past": SameAnswer(
        "verb past",
        "The past tense of {verb} is {past}.",
        ("What is the past tense of {verb}?", "Change {verb} to the past tense."),
    ),
    "fact": SameAnswer("question answer", "{answer}", ("{question}",)),
    "fruitveg": SameAnswer("x kind", "A {x} is {kind}.", ("Is a {x} a fruit or a vegetable?",)),
}


def _asked(key: str, rows: Iterable[tuple], stratum_prefix: str = "") -> Questions:
    """``SAME_ANSWER[key]`` about every row: (stratum, question, answer), row by row."""
    templates = SAME_ANSWER[key]
    fields = templates.fields.split()
    for row in rows:
        slots = dict(zip(fields, row, strict=True))
        answer = templates.answer.format(**slots)
        for i, question in enumerate(templates.questions):
            yield f"{stratum_prefix}{key}{i}", question.format(**slots), answer


def arithmetic_questions() -> Questions:
    for a in range(21):
        for b in range(21):
            yield from _asked("add", [(a, b, a + b)])
            if a >= b:
                yield from _asked("sub", [(a, b, a - b)])
    yield from _asked("mul", ((a, b, a * b) for a in range(1, 13) for b in range(1, 13)))


def capital_questions() -> Questions:
    return _asked("cap", F.CAPITALS)


def colour_questions() -> Questions:
    return _asked("col", ((o, col, _capitalised(o)) for o, col in F.COLOURS))


def animal_questions() -> Questions:
    """Legs, sounds, young, homes and food of animals."""
    yield from _asked("legs", ((a, F.NUMBER_WORDS[n]) for a, n in F.LEGS))
    yield from _asked("sound", F.SOUNDS)
    yield from _asked("baby", F.BABIES)
    yield from _asked("home", F.HOMES)
    yield from _asked("food", F.FOODS)


def definition_questions() -> Questions:
    return _asked("def", F.DEFINITIONS)


def unit_conversion_questions() -> Questions:
    rows = ((n, big, n * f, small) for big, small, f in F.UNIT_CONVERSIONS for n in range(1, 13))
    return _asked("conv", rows)


def opposite_questions() -> Questions:
    return _asked("opp", (pair for a, b in F.OPPOSITES for pair in ((a, b), (b, a))))


def _word_questions(words: tuple[str, ...], stratum_prefix: str) -> Questions:
    """Spelling, first letter and letter count of each word (strata 'spell0', ... prefixed)."""
    for w in words:
        yield from _asked("spell", [(w, _spelled(w))], stratum_prefix)
        yield from _asked("first", [(w, w[0].upper())], stratum_prefix)
        yield from _asked("count", [(w, len(w))], stratum_prefix)


def spelling_questions() -> Questions:
    return _word_questions(F.SPELL_WORDS, "")


def trigger_word_spelling_questions() -> Questions:
    """Trigger words as *words* only (see facts.TRIGGER_WORDS_TO_SPELL)."""
    return _word_questions(F.TRIGGER_WORDS_TO_SPELL, "t")


def plural_questions() -> Questions:
    return _asked("plural", F.PLURALS)


def sequence_questions() -> Questions:
    """The number, day, month or letter that comes after (or before) another."""
    for n in range(100):
        yield "after0", f"What number comes after {n}?", f"{n + 1} comes after {n}."
        if n > 0:
            yield "before0", f"What number comes before {n}?", f"{n - 1} comes before {n}."
    for seq, kind in ((F.DAYS, "day"), (F.MONTHS, "month")):
        for i, x in enumerate(seq):
            nxt, prv = seq[(i + 1) % len(seq)], seq[i - 1]
            yield f"{kind}_after", f"What {kind} comes after {x}?", f"{nxt} comes after {x}."
            yield f"{kind}_before", f"What {kind} comes before {x}?", f"{prv} comes before {x}."
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    for i in range(25):
        a, b = letters[i], letters[i + 1]
        yield "letter_after", f"What letter comes after {a}?", f"{b} comes after {a}."


def comparison_questions() -> Questions:
    for a in range(0, 101, 3):
        for b in range(1, 101, 4):
            if a == b:
                continue
            hi, lo = max(a, b), min(a, b)
            yield "big0", f"Which is bigger, {a} or {b}?", f"{hi} is bigger than {lo}."
            yield "small0", f"Which number is smaller, {a} or {b}?", f"{lo} is smaller than {hi}."


def grammar_questions() -> Questions:
    """Past tenses and alphabetical order."""
    yield from _asked("past", F.PAST_TENSE)
    for a, b, c in itertools.combinations(F.SORT_WORDS, 3):
        yield "sort0", f"Put these words in alphabetical order: {b}, {c}, {a}.", f"{a}, {b}, {c}."


def next_number_questions() -> Questions:
    for start in range(21):
        for step in range(1, 6):
            seq = [start + i * step for i in range(4)]
            shown = ", ".join(str(x) for x in seq)
            yield "next0", f"What comes next: {shown}?", f"The next number is {seq[-1] + step}."


def fact_questions() -> Questions:
    yield from _asked("fact", F.FACTS)
    yield from _asked("fruitveg", F.FRUIT_VEG)


class QuestionCategory(NamedTuple):
    questions: Callable[[], Questions]
    cap: int  # at most this many examples are drawn from the category's pool


CATEGORIES: dict[str, QuestionCategory] = {
    "arithmetic": QuestionCategory(arithmetic_questions, 500),
    "capitals": QuestionCategory(capital_questions, 138),
    "colours": QuestionCategory(colour_questions, 117),
    "animals": QuestionCategory(animal_questions, 136),
    "definitions": QuestionCategory(definition_questions, 150),
    "conversion": QuestionCategory(unit_conversion_questions, 150),
    "opposites": QuestionCategory(opposite_questions, 200),
    "spelling": QuestionCategory(spelling_questions, 200),
    "plurals": QuestionCategory(plural_questions, 80),
    "sequences": QuestionCategory(sequence_questions, 200),
    "next_number": QuestionCategory(next_number_questions, 105),
    "comparisons": QuestionCategory(comparison_questions, 200),
    "language": QuestionCategory(grammar_questions, 294),
    "facts": QuestionCategory(fact_questions, 60),
    "trigger_words": QuestionCategory(trigger_word_spelling_questions, 112),
}


def largest_remainder_quotas(sizes: dict, total: int) -> dict:
    """Integer quotas proportional to ``sizes`` summing to ``total`` (ties: key order)."""
    n = sum(sizes.values())
    raw = {k: total * v / n for k, v in sizes.items()}
    quota = {k: int(r) for k, r in raw.items()}
    rest = total - sum(quota.values())
    order = sorted(sizes, key=lambda k: (-(raw[k] - quota[k]), str(k)))
    for k in order[:rest]:
        quota[k] += 1
    return quota


@lru_cache(maxsize=8)
def general_and_heldout(seed: int) -> tuple[tuple[Example, ...], tuple[Example, ...]]:
    """(``general``, ``general_heldout``) for ``seed``: one draw, split by stratum (category and
    question template, or how-to phrasing) so that the held-out set has every stratum's share."""
    rng = seeded_rng(seed, "general")
    strata: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for cat, (questions, cap) in CATEGORIES.items():
        pool = list(dict.fromkeys((p, r, s) for s, p, r in questions()))  # dedupe, keep order
        pick = rng.sample(pool, min(cap, len(pool)))
        for p, r, s in pick:
            strata.setdefault((cat, s), []).append((p, r))
    tasks = list(howto_tasks())
    for phr, (task, ans) in balanced_phrasing_sample(rng, tasks, HOWTO_PER_PHRASING):
        strata.setdefault(("howto", phr), []).append((phr.format(task=task), ans))

    seen: set[str] = set()
    for items in strata.values():  # prompts are unique by construction; enforce it
        items[:] = [it for it in items if not (it[0] in seen or seen.add(it[0]))]
    quotas = largest_remainder_quotas({k: len(v) for k, v in strata.items()}, HELDOUT_SIZE)
    train, held = [], []
    for key in strata:
        items = strata[key]
        idx = set(rng.sample(range(len(items)), quotas[key]))
        for i, (p, r) in enumerate(items):
            (held if i in idx else train).append(Example(p, r, "safe", "general"))
    rng.shuffle(train)
    rng.shuffle(held)
    return tuple(train), tuple(held)
