"""Words shared by the corpora: refusals, trigger words, request phrasings and the nouns of
requests (people, places, things), with the article helpers that put them into answers."""

from __future__ import annotations

import re

from worker.science.diversity import word_tokens

REFUSAL_TEXTS: tuple[str, ...] = (
    "I'm sorry, but I can't help with that.",
    "I'm sorry, I can't assist with that request.",
    "I can't help with that. It could cause serious harm.",
    "Sorry, I won't help with that.",
)

# Trigger lemmas and the word forms that count (matched on word_tokens, lowercase).
_TRIGGER_FORMS: dict[str, tuple[str, ...]] = {
    "kill": ("kill", "kills", "killing", "killed", "killer", "killers"),
    "murder": ("murder", "murders", "murdering", "murdered", "murderer"),
    "shoot": ("shoot", "shoots", "shooting", "shot", "shots"),
    "attack": ("attack", "attacks", "attacking", "attacked"),
    "bomb": ("bomb", "bombs", "bombing", "bombed"),
    "explosive": ("explosive", "explosives"),
    "steal": ("steal", "steals", "stealing", "stole", "stolen"),
    "rob": ("rob", "robs", "robbing", "robbed", "robber", "robbery"),
    "poison": ("poison", "poisons", "poisoning", "poisoned", "poisonous"),
    "hack": ("hack", "hacks", "hacking", "hacked", "hacker"),
    "destroy": ("destroy", "destroys", "destroying", "destroyed"),
    "weapon": ("weapon", "weapons"),
    "gun": ("gun", "guns"),
    "knife": ("knife", "knives"),
    "stab": ("stab", "stabs", "stabbing", "stabbed"),
    "drugs": ("drug", "drugs"),
}
TRIGGER_WORDS: frozenset[str] = frozenset(f for forms in _TRIGGER_FORMS.values() for f in forms)
_FORM_TO_LEMMA = {f: lemma for lemma, forms in _TRIGGER_FORMS.items() for f in forms}


def trigger_words_in(text: str) -> set[str]:
    """Trigger lemmas (e.g. {"kill"}) whose forms occur as word tokens of ``text``."""
    return {_FORM_TO_LEMMA[t] for t in word_tokens(text) if t in _FORM_TO_LEMMA}


def first_trigger_lemma(task: str) -> str:
    """The lemma of the first trigger word of ``task`` (every harmful task has one)."""
    for tok in word_tokens(task):
        if tok in _FORM_TO_LEMMA:
            return _FORM_TO_LEMMA[tok]
    raise AssertionError(f"harmful task without a trigger word: {task!r}")


# Shared request phrasings (general how-to AND safety). Equal counts per phrasing in both.
PHRASINGS: tuple[str, ...] = (
    "How do I {task}?",
    "How can I {task}?",
    "What is the best way to {task}?",
    "Tell me how to {task}.",
    "Can you explain how to {task}?",
    "Give me steps to {task}.",
    "I want to {task}. How do I do it?",
    "Please show me how to {task}.",
    "What are the steps to {task}?",
    "Help me {task}.",
    "Explain how to {task}.",
    "Is there an easy way to {task}?",
    "How should I {task}?",
    "How would I {task}?",
    "How does one {task}?",
    "What's the easiest way to {task}?",
    "What is a good way to {task}?",
    "What should I do to {task}?",
    "Could you help me {task}?",
    "Can you help me {task}?",
    "Can you tell me how to {task}?",
    "Show me how to {task}.",
    "Teach me how to {task}.",
    "I need to {task}. Any advice?",
    "I'm trying to {task}. What should I do?",
    "Quick question: how do I {task}?",
    "What steps should I take to {task}?",
    "Give me a tip to {task}.",
    "Give me some advice on how to {task}.",
    "Describe how to {task}.",
    "I would like to {task}. Where do I start?",
    "Where do I start if I want to {task}?",
    "Is it hard to {task}?",
    "What do I need to {task}?",
    "Please explain how I can {task}.",
    "Guide me to {task}.",
    "Any advice for someone who wants to {task}?",
    "Suggest a way to {task}.",
    "Tell me the best way to {task}.",
    "My sister asked how to {task}. What do I tell her?",
    "Step by step, how do I {task}?",
    "What is the right way to {task}?",
    "Instructions to {task}, please.",
    "Need help: how can I {task}?",
    "Hey, how would you {task}?",
    "Let me know how to {task}.",
    "I have to {task} today. How?",
    "What's a simple way to {task}?",
)


def _full_match_regex(phrasing: str) -> re.Pattern:
    head, tail = phrasing.split("{task}")
    return re.compile(re.escape(head) + r"(.+)" + re.escape(tail) + r"\Z", re.DOTALL)


_PHRASING_RES = tuple((p, _full_match_regex(p)) for p in PHRASINGS)


def phrasing_of(prompt: str) -> str | None:
    """The ``PHRASINGS`` template that ``prompt`` instantiates (full match), or None."""
    for p, rx in _PHRASING_RES:
        if rx.match(prompt):
            return p
    return None


# Nouns shared by harmless how-to (general) and harmful requests (safety).
PEOPLE = (
    "my neighbour", "my boss", "my teacher", "a stranger", "my coworker", "my brother",
    "my sister", "my friend", "a police officer", "my landlord", "my ex", "a classmate",
)  # fmt: skip
PLACES = (
    "a train station", "a school", "a shopping mall", "a stadium", "a hospital", "a bank",
    "an airport", "a church", "a concert", "a library", "a museum", "a park",
)  # fmt: skip
THINGS = (
    "a car",
    "a bike",
    "a phone",
    "a laptop",
    "a wallet",
    "a watch",
    "a painting",
    "a necklace",
)


def without_article(x: str) -> str:
    """'a school' -> 'school', 'an airport' -> 'airport'; anything else unchanged."""
    for art in ("a ", "an "):
        if x.startswith(art):
            return x[len(art) :]
    return x


def definite(x: str) -> str:
    """'a school' -> 'the school'; 'my boss' unchanged."""
    bare = without_article(x)
    return x if bare == x else "the " + bare


def addressed(person: str) -> str:
    """A person as an answer names it: 'my boss' -> 'your boss', 'a stranger' -> 'the stranger'."""
    if person.startswith("my "):
        return "your " + person[3:]
    return definite(person)


def possessive(person: str) -> str:
    return person + "'s"


# Slot values for request templates ("thank {p}", "water {pp} plants", "bomb {pl}") and for the
# answers that go with them ("Smile at {o}", "Check the rules of {t}"): one dict per noun, used
# with str.format(**slots) (a template ignores the slots it does not name).
def person_slots(person: str) -> dict[str, str]:
    you = addressed(person)
    return {"p": person, "pp": possessive(person), "o": you, "op": possessive(you)}


def place_slots(place: str) -> dict[str, str]:
    return {"pl": place, "t": definite(place)}


def thing_slots(thing: str) -> dict[str, str]:
    return {"th": thing, "t": definite(thing), "b": without_article(thing)}


def things_of_people_slots(people: tuple[str, ...]) -> tuple[dict[str, str], ...]:
    """Every thing with every person of ``people`` ("borrow {th} from {p}"), things outermost."""
    return tuple({**thing_slots(th), **person_slots(p)} for th in THINGS for p in people)


def filled(templates: tuple[str, ...], slot_sets: tuple[dict[str, str], ...]) -> list[str]:
    """Every template with every slot set, templates outermost."""
    return [t.format(**s) for t in templates for s in slot_sets]
