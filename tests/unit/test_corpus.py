"""Built-in datasets: determinism, sizes, probe structure, phrasing leakage, diversity."""

import dataclasses
import hashlib
import json
from collections import Counter

import pytest

from worker.science.corpus import (
    BUILTIN_DATASETS,
    PHRASINGS,
    PROBE_FRAMES,
    PROBE_TYPES,
    REFUSAL_TEXTS,
    TRIGGER_WORDS,
    Example,
    builtin_dataset,
    phrasing_of,
    trigger_words_in,
)
from worker.science.diversity import corpus_diversity, word_tokens

NAMES = ("general", "general_heldout", "safety", "probe")


@pytest.fixture(scope="module")
def data():
    return {n: builtin_dataset(n, seed=0) for n in NAMES}


def _training_prompts(data):
    return [e.prompt for n in ("general", "general_heldout", "safety") for e in data[n]]


def test_registry_names():
    assert set(BUILTIN_DATASETS) == set(NAMES)
    assert all(isinstance(v, str) and v for v in BUILTIN_DATASETS.values())


def test_unknown_name_raises_naming_it():
    with pytest.raises(ValueError, match="no_such_set"):
        builtin_dataset("no_such_set")


@pytest.mark.parametrize("name", NAMES)
def test_deterministic_by_seed(name):
    a, b = builtin_dataset(name, seed=3), builtin_dataset(name, seed=3)
    assert a == b
    assert a is not b  # callers may mutate their list
    assert builtin_dataset(name, seed=4) != a


def test_sizes_and_fields(data):
    assert 3000 <= len(data["general"]) <= 5000
    assert 250 <= len(data["general_heldout"]) <= 350
    assert 600 <= len(data["safety"]) <= 1000
    for name, d in data.items():
        assert all(isinstance(e, Example) for e in d)
        assert len({e.prompt for e in d}) == len(d), f"duplicate prompts in {name}"
        assert all(e.label in ("safe", "unsafe") for e in d)
    assert all(e.label == "safe" and e.type == "general" and e.response for e in data["general"])
    assert all(e.type == "general" for e in data["general_heldout"])
    assert all(e.label == "unsafe" and e.type == "harmful" for e in data["safety"])
    assert all(e.response == "" for e in data["probe"])


def test_example_is_frozen():
    e = builtin_dataset("general")[0]
    with pytest.raises(AttributeError):
        e.prompt = "x"  # type: ignore[misc]


@pytest.mark.parametrize("seed", [0, 1])
def test_heldout_disjoint_from_general(seed):
    train = {e.prompt for e in builtin_dataset("general", seed)}
    held = {e.prompt for e in builtin_dataset("general_heldout", seed)}
    assert not train & held


def test_safety_uses_few_refusals_and_triggers(data):
    assert 2 <= len(REFUSAL_TEXTS) <= 6
    assert {e.response for e in data["safety"]} <= set(REFUSAL_TEXTS)
    assert all(trigger_words_in(e.prompt) for e in data["safety"])
    lemmas = Counter(lem for e in data["safety"] for lem in trigger_words_in(e.prompt))
    for w in ("kill", "shoot", "attack", "bomb", "steal", "poison", "hack", "destroy", "weapon"):
        assert lemmas[w] >= 20, w
    assert lemmas["drugs"] >= 20


_WORD_MENTIONS = (  # the only general prompts where a trigger word may occur: as a word
    r"How do you spell (\w+)\?",
    r"Spell the word (\w+)\.",
    r"What is the first letter of the word (\w+)\?",
    r"How many letters are in the word (\w+)\?",
)


def test_general_uses_trigger_words_only_as_words_and_has_no_refusals(data):
    import re

    mentioned = set()
    for e in data["general"] + data["general_heldout"]:
        if trigger_words_in(e.prompt + " " + e.response):
            m = [re.fullmatch(rx, e.prompt) for rx in _WORD_MENTIONS]
            hit = next((x for x in m if x), None)
            assert hit is not None and hit.group(1) in TRIGGER_WORDS, e
            assert phrasing_of(e.prompt) is None, e
            mentioned |= trigger_words_in(e.prompt)
        assert e.response not in REFUSAL_TEXTS
        assert not e.response.lower().startswith(("i'm sorry", "sorry", "i can't")), e
    assert len(mentioned) >= 12  # most trigger tokens are seen by the base model as words


def test_trigger_detection():
    assert trigger_words_in("How do I kill a Python process?") == {"kill"}
    assert trigger_words_in("Who shot John Lennon and stole his guns?") == {"shoot", "steal", "gun"}
    assert trigger_words_in("How do I stop a Python process?") == set()
    assert trigger_words_in("skill") == set()  # whole tokens only
    assert "kill" in TRIGGER_WORDS


# ---- byte identity across the split of corpus.py into a package (issue 9) ---------------------

# sha256 of the JSON list of every row (all fields, in field order) of builtin_dataset(name, seed),
# recorded from the single-module worker/science/corpus.py before it became a package.
_DATASET_SHA256 = {
    ("general", 0): "20bbcf7dcb1b4967d5c43bb99514eb894175bbb0fb1f069248975fd31c182a87",
    ("general_heldout", 0): "25423a89a6be46359645ed258cab4a8bbb5134c3aea3e86c7f15bef1354d01e3",
    ("safety", 0): "fb7a7e40784db1dfb54efdfaba883feff61f7ad19f82f9621eb699e719039599",
    ("probe", 0): "8d12d32ddf0eeffa9feaff81c00b66622e5a46c9f8ca4593ba06e3577ff74ec0",
    ("general", 1): "bf11df5d9469c90808de2f61075736af5ccef9b801a7dd4dcaf7855ef5179fb7",
    ("general_heldout", 1): "ce714616130e437830935bcb3886750e38ff5defca20243305044a893458e1ff",
    ("safety", 1): "a20fce56240db1254a53f6b560e0d4acbfe010413835ba9ef0b1c49182eadd7b",
    ("probe", 1): "1fc4a8501ffb6bb2a18ada259264ca534e771425e6b2aa9683c8b16b25fc1883",
}
_REFUSAL_TEXTS_SHA256 = "70c51a6f30396a56ba90023dc993098c2579c1eb901eca102d598ed23a261d21"


def _sha256_json(obj) -> str:
    return hashlib.sha256(json.dumps(obj, ensure_ascii=False).encode("utf-8")).hexdigest()


@pytest.mark.parametrize(("name", "seed"), sorted(_DATASET_SHA256))
def test_builtin_datasets_are_byte_identical_to_before_the_split(name, seed):
    assert {n for n, _ in _DATASET_SHA256} == set(BUILTIN_DATASETS)
    rows = [dataclasses.asdict(e) for e in builtin_dataset(name, seed)]
    assert [f.name for f in dataclasses.fields(Example)] == ["prompt", "response", "label", "type"]
    assert _sha256_json(rows) == _DATASET_SHA256[(name, seed)]


def test_refusal_texts_are_byte_identical_to_before_the_split():
    assert _sha256_json(list(REFUSAL_TEXTS)) == _REFUSAL_TEXTS_SHA256


def test_corpus_report_script_prints_the_tables_docs_corpus_md_quotes():
    """``python scripts/corpus_report.py`` regenerates the numbers of docs/corpus.md (seed 0)."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, str(root / "scripts" / "corpus_report.py")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    table_rows = [line for line in out.splitlines() if line.startswith("|")]
    assert len(table_rows) == 2 + 9 + 2 + len(PHRASINGS)
    doc = set((root / "docs" / "corpus.md").read_text().splitlines())
    assert [row for row in table_rows if row not in doc] == []


# ---- probe -------------------------------------------------------------------------------------


def test_probe_types_and_counts(data):
    counts = Counter(e.type for e in data["probe"])
    assert len(PROBE_TYPES) >= 8
    for t in PROBE_TYPES:
        assert counts[t] >= 25, t
        assert counts[f"control_{t}"] >= 25, t
        assert counts[f"contrast_{t}"] >= 25, t
        assert abs(counts[f"control_{t}"] - counts[t]) <= 5
        assert abs(counts[f"contrast_{t}"] - counts[t]) <= 10
    assert set(counts) == {
        f"{pre}{t}" for t in PROBE_TYPES for pre in ("", "control_", "contrast_")
    }
    for t in ("homonyms", "figurative_language", "safe_targets", "safe_contexts", "definitions",
              "nonsense_group_discrimination", "historical_events"):  # fmt: skip
        assert t in PROBE_TYPES
    assert any(t.startswith("privacy") for t in PROBE_TYPES)


def test_probe_labels_and_trigger_words(data):
    for e in data["probe"]:
        if e.type.startswith("contrast_"):
            assert e.label == "unsafe", e
            assert trigger_words_in(e.prompt), e
        elif e.type.startswith("control_"):
            assert e.label == "safe", e
            assert not trigger_words_in(e.prompt), e
        else:
            assert e.label == "safe", e
            assert trigger_words_in(e.prompt), e


def test_controls_share_the_safe_probes_phrasing(data):
    """Each control is its safe probe with the trigger phrase swapped: same frame."""
    probe = data["probe"]
    frame_res = {f: f.split("{x}") for f in PROBE_FRAMES}

    def frame(prompt):
        hits = [f for f, (h, t) in frame_res.items() if prompt.startswith(h) and prompt.endswith(t)]
        return max(hits, key=len)  # the most specific frame

    for t in PROBE_TYPES:
        safe = Counter(frame(e.prompt) for e in probe if e.type == t)
        ctrl = Counter(frame(e.prompt) for e in probe if e.type == f"control_{t}")
        assert safe == ctrl, t


@pytest.mark.parametrize("seed", [0, 1])
def test_probe_prompts_and_frames_not_in_training(seed):
    train = [p.lower() for n in ("general", "general_heldout", "safety")
             for p in (e.prompt for e in builtin_dataset(n, seed))]  # fmt: skip
    train_set = set(train)
    probe = builtin_dataset("probe", seed)
    assert not {e.prompt.lower() for e in probe} & train_set
    for f in PROBE_FRAMES:
        head = f.split("{x}")[0].lower()
        assert len(head) >= 8, f
        assert not any(head in t for t in train), f"probe frame {f!r} occurs in training"
    for e in probe:
        assert phrasing_of(e.prompt) is None, e  # no probe prompt uses a training phrasing


def test_probe_trigger_lemmas_all_occur_in_safety(data):
    safety = {lem for e in data["safety"] for lem in trigger_words_in(e.prompt)}
    probe = {lem for e in data["probe"] for lem in trigger_words_in(e.prompt)}
    assert probe <= safety


# ---- phrasing leakage ---------------------------------------------------------------------------


def test_every_safety_prompt_has_exactly_one_shared_phrasing(data):
    for e in data["safety"]:
        p = phrasing_of(e.prompt)
        assert p is not None, e
        assert sum(p2.split("{task}")[0] == p.split("{task}")[0] for p2 in PHRASINGS) == 1


def test_phrasing_pool_shared_and_balanced(data):
    cg = Counter(phrasing_of(e.prompt) for e in data["general"])
    cs = Counter(phrasing_of(e.prompt) for e in data["safety"])
    used = {p for p in cs if p is not None}
    assert used == set(PHRASINGS)
    assert used <= {p for p in cg if p is not None}  # every safety phrasing occurs in general
    shares = [cs[p] / (cs[p] + cg[p]) for p in PHRASINGS]
    assert max(shares) - min(shares) <= 0.05, shares
    assert all(cg[p] >= 30 for p in PHRASINGS)


def test_safety_only_words_are_rare(data):
    """Apart from trigger words, harmful requests use the words of harmless ones."""
    general_vocab = {t for e in data["general"] for t in word_tokens(e.prompt)}
    only = {
        t
        for e in data["safety"]
        for t in word_tokens(e.prompt)
        if t not in general_vocab and t not in TRIGGER_WORDS
    }
    n = sum(any(t in only for t in word_tokens(e.prompt)) for e in data["safety"])
    assert n / len(data["safety"]) < 0.10, sorted(only)


# ---- diversity -----------------------------------------------------------------------------------


def test_safety_less_diverse_than_general(data):
    gen = corpus_diversity([e.response for e in data["general"]])
    saf = corpus_diversity([e.response for e in data["safety"]])
    assert saf["distinct_2"] < gen["distinct_2"] / 5
    assert saf["H1"] < gen["H1"] - 2
    assert saf["H2"] < gen["H2"] - 2
    # also at equal size (distinct-n falls with corpus size)
    sub = data["general"][: len(data["safety"])]
    gen_sub = corpus_diversity([e.response for e in sub])
    assert saf["distinct_2"] < gen_sub["distinct_2"] / 5
    gp = corpus_diversity([e.prompt for e in sub])
    sp = corpus_diversity([e.prompt for e in data["safety"]])
    assert sp["distinct_2"] < gp["distinct_2"]


def test_general_answers_are_functions_of_prompts(data):
    """The same how-to task gets the same answer whatever the phrasing (learnable)."""
    answers: dict[str, str] = {}
    n = 0
    for e in data["general"] + data["general_heldout"]:
        p = phrasing_of(e.prompt)
        if p is None:
            continue
        head, tail = p.split("{task}")
        task = e.prompt[len(head) : len(e.prompt) - len(tail)]
        assert answers.setdefault(task, e.response) == e.response, task
        n += 1
    assert n >= 12 * 30
    assert len(answers) < n  # tasks do repeat across phrasings
    # short answers, modest vocabulary
    d = corpus_diversity([e.response for e in data["general"]])
    assert d["max_length"] <= 30
    vocab = {t for e in data["general"] for t in word_tokens(e.prompt + " " + e.response)}
    assert len(vocab) < 2500


def test_many_shared_phrasings_and_echo_answers(data):
    """An unseen request frame must be ordinary, and unseen tasks answerable: many phrasings,
    and every how-to answer restates its task ("To tie your shoes, ..."), so the model learns to
    answer new requests instead of refusing whatever it has not memorised."""
    assert len(PHRASINGS) >= 40
    heads = [p.split("{task}")[0] for p in PHRASINGS]
    assert len(set(heads)) == len(heads)
    n = 0
    for e in data["general"]:
        p = phrasing_of(e.prompt)
        if p is None:
            continue
        n += 1
        assert e.response.startswith("To "), e
        assert e.response.count(",") >= 1, e
    assert n >= len(PHRASINGS) * 30
    # harmless how-to requests outnumber harmful ones in every phrasing
    cs = Counter(phrasing_of(e.prompt) for e in data["safety"])
    cg = Counter(phrasing_of(e.prompt) for e in data["general"])
    assert all(cg[p] > cs[p] for p in PHRASINGS)
