"""Harmless how-to tasks of ``general``: (task, answer) pairs that requests put into the shared
``PHRASINGS``. Every answer restates its task ("To tie your shoes, ..."), so the model learns to
answer requests it has never seen instead of refusing whatever it has not memorised."""

from __future__ import annotations

import random
from functools import lru_cache

from worker.science.corpus.vocabulary import (
    PEOPLE,
    PHRASINGS,
    PLACES,
    THINGS,
    TRIGGER_WORDS,
    person_slots,
    place_slots,
    thing_slots,
    things_of_people_slots,
)

_FIXED_TASKS: tuple[tuple[str, str], ...] = (
    ("boil an egg", "Put the egg in boiling water for ten minutes."),
    ("make a cup of tea", "Boil water, add a tea bag and wait three minutes."),
    ("make a cup of coffee", "Put ground coffee in a filter and pour hot water over it."),
    ("make toast", "Put a slice of bread in the toaster for two minutes."),
    ("plant a tree", "Dig a hole, put the tree in, cover the roots with soil and water it."),
    ("water a plant", "Pour water on the soil until it is damp, not wet."),
    ("tie my shoes", "Cross the laces, make a loop, wrap the other lace around it and pull."),
    ("wash my hands", "Use soap and warm water and rub your hands for twenty seconds."),
    ("brush my teeth", "Brush every tooth gently for two minutes, then rinse."),
    ("fall asleep faster", "Go to bed at the same time, keep the room dark and avoid screens."),
    ("save money", "Spend less than you earn and put a small amount aside every week."),
    ("make a paper plane", "Fold a sheet of paper in half, fold the wings down and throw it."),
    ("fold a shirt", "Lay it flat, fold the sleeves in, then fold it in half."),
    ("make a sandwich", "Put cheese and salad between two slices of bread."),
    ("cook rice", "Boil one cup of rice in two cups of water for fifteen minutes."),
    (
        "bake bread",
        "Mix flour, water, yeast and salt, let it rise, then bake it for thirty minutes.",
    ),
    ("make a salad", "Wash some vegetables, cut them up and add a little oil."),
    ("clean a window", "Spray it with soapy water and wipe it dry with a cloth."),
    ("learn to swim", "Take lessons and practise floating and kicking in shallow water."),
    ("ride a bike", "Keep pedalling, look ahead and keep your balance."),
    ("write a thank you note", "Say what you are thankful for and sign your name."),
    ("read faster", "Read every day and try not to say the words in your head."),
    ("stay healthy", "Eat fruit and vegetables, sleep well and move every day."),
    ("start running", "Begin with short slow runs three times a week."),
    ("make a budget", "Write down what you earn and what you spend each month."),
    ("learn to draw", "Draw simple shapes every day and copy things you see."),
    ("remember names", "Repeat the name when you meet someone and use it again soon."),
    ("calm down", "Breathe slowly, count to ten and relax your shoulders."),
    ("make new friends", "Join a club, say hello and ask people about themselves."),
    ("study for a test", "Study a little every day and test yourself with questions."),
    ("keep my room tidy", "Put things back where they belong every evening."),
    ("grow tomatoes", "Plant them in a sunny spot and water them often."),
    ("make pancakes", "Mix flour, milk and eggs, then cook small rounds in a hot pan."),
    ("pack a suitcase", "Roll your clothes and put heavy things at the bottom."),
    ("write a poem", "Pick a topic, write short lines and read them aloud."),
    ("learn a language", "Practise a little every day and talk with native speakers."),
    ("fix a flat tyre on a bike", "Take out the tube, patch the hole and pump it up again."),
    ("make lemonade", "Mix lemon juice, water and sugar, then add ice."),
    ("feed a cat", "Give the cat cat food twice a day and fresh water."),
    ("walk a dog", "Put on the lead and walk the dog for half an hour."),
    ("wake up early", "Go to bed early and put your alarm across the room."),
    ("tell a good story", "Give it a clear start, a problem and an ending."),
    ("sew a button", "Push a threaded needle through the holes a few times and tie a knot."),
    ("build a snowman", "Roll three snowballs and stack them from biggest to smallest."),
    ("set the table", "Put a plate, a fork, a spoon and a glass at each seat."),
    ("write an email", "Write a clear subject, a short message and a polite greeting."),
    ("change a light bulb", "Turn off the power, unscrew the old bulb and screw in a new one."),
    ("stop hiccups", "Drink a glass of water slowly or hold your breath for ten seconds."),
    ("cool down on a hot day", "Drink water, stay in the shade and wear light clothes."),
    ("warm up on a cold day", "Wear layers, drink something hot and keep moving."),
    ("learn to juggle", "Start with one ball, then two, then add a third."),
    ("improve my handwriting", "Write slowly and practise the same letters every day."),
    ("make a birthday card", "Fold a card, draw a picture and write a kind message."),
    ("choose a good book", "Read the first page and pick one that makes you curious."),
    ("clean my shoes", "Brush off the dirt and wipe them with a damp cloth."),
    ("iron a shirt", "Iron the collar first, then the sleeves and then the body."),
    ("save water", "Take short showers and turn off the tap while you brush."),
    ("recycle paper", "Put clean paper in the blue recycling bin."),
    ("make soup", "Boil vegetables in water with salt for thirty minutes."),
    ("keep plants alive", "Give them light and water them when the soil is dry."),
    ("learn to type fast", "Use all ten fingers and practise a little every day."),
    ("memorise a poem", "Learn two lines at a time and say them aloud."),
    ("be on time", "Leave ten minutes earlier than you think you need."),
    ("make my bed", "Pull the sheet straight, shake the pillow and fold the blanket."),
    ("give a good speech", "Practise aloud, speak slowly and look at the audience."),
    # words that harmful requests need too (mirrors, so that they do not signal refusal)
    ("avoid getting hurt when cycling", "Wear a helmet, use lights and ride carefully."),
    ("meet new people in a new city", "Join a club or a class and say hello."),
    ("connect two computers to a home network", "Join both computers to the same wifi."),
    ("remember someone's birthday", "Write it in your calendar and set a reminder."),
    ("get a driving licence", "Take lessons, pass the theory test and then the driving test."),
    ("walk across a busy road safely", "Use a crossing, look both ways and then walk."),
    ("cross the border on holiday", "Bring your passport and check the travel rules."),
    ("check the weather", "Look at a weather app or the news."),
    ("use a washing machine", "Add clothes and soap, choose a programme and press start."),
    ("talk to teenagers about school", "Listen first, ask open questions and stay calm."),
    (
        "store household chemicals safely",
        "Keep them in their bottles, up high and away from children.",
    ),
    (
        "go through airport security quickly",
        "Have your passport ready and put liquids in a clear bag.",
    ),
    ("pay with a credit card", "Tap or insert the card and enter your PIN."),
    ("give money to a charity", "Choose a charity you trust and donate on its website."),
    ("find a friend in a crowd", "Agree on a meeting point before you go."),
    ("keep my body healthy", "Eat well, sleep enough and move every day."),
    ("fix a leaking pipe", "Turn off the water and wrap the leak with pipe tape."),
    ("collect evidence for a science project", "Measure carefully and write down every result."),
    ("register for voting", "Fill in the form on the website of your local council."),
    ("choose a background for a photo", "Pick a plain wall with soft light."),
    ("check a city's water supply", "Read the water report on the city website."),
    ("learn to read numbers in French", "Learn one to ten first, then the tens."),
    ("cook food that kids like", "Make simple dishes like pasta and let them help."),
    ("set up a home network", "Plug in the router and choose a strong wifi password."),
    ("check a bank's opening hours", "Look on the bank's website or call them."),
    ("find a company's phone number", "Look on the company's website under contact."),
    ("visit a school's open day", "Check the date on the school's website and go with a parent."),
    ("use a vending machine", "Choose a snack, pay with coins or a card and take it out."),
)

# (task template, answer template) with the slots of vocabulary.person_slots & co.
_PERSON_TASKS: tuple[tuple[str, str], ...] = (
    ("thank {p}", "Look at {o}, smile and say thank you."),
    ("say hello to {p}", "Smile at {o} and say hello in a friendly voice."),
    ("apologise to {p}", "Tell {o} you are sorry and explain what you will do better."),
    ("cheer up {p}", "Listen to {o}, say something kind and offer to help."),
    ("write a letter to {p}", "Write a few kind lines to {o} and sign your name."),
    ("give a gift to {p}", "Choose something {o} likes, wrap it and give it with a smile."),
    ("invite {p} to dinner", "Ask {o} kindly and suggest a day and a time."),
    ("talk to {p}", "Be polite, listen to {o} and speak calmly."),
    ("help {p} with homework", "Sit with {o}, read the task together and give hints."),
    ("share food with {p}", "Cook a little extra and offer some to {o}."),
    (
        "plan a surprise party for {p} without getting caught",
        "Invite guests quietly and keep the plan a secret from {o}.",
    ),
    ("hide a present from {p}", "Wrap it and keep it in a high cupboard until the day."),
    ("comfort {p} when they are hurt", "Stay with {o}, listen and offer a hug."),
    ("water {pp} plants", "Water {op} plants when the soil is dry."),
    ("clean {pp} windows", "Ask first, then wash {op} windows with soapy water."),
)
_PLACE_TASKS: tuple[tuple[str, str], ...] = (
    ("find {pl}", "Open a map on your phone and search for {pl}."),
    ("get to {pl}", "Check a map and take a bus or walk to {t}."),
    ("visit {pl}", "Check the opening hours of {t} and plan your trip."),
    ("bring food into {pl}", "Check the rules of {t} first and pack the food in a box."),
    ("bring a camera into {pl}", "Check the rules of {t} and keep the camera in your bag."),
    ("set off early for {pl}", "Pack the night before and leave home an hour early."),
)
_THING_TASKS: tuple[tuple[str, str], ...] = (
    ("clean {th}", "Wipe {t} with a soft damp cloth."),
    ("sell {th}", "Take a clear photo of {t}, set a fair price and post an ad."),
    ("take care of {th}", "Keep {t} clean and store it in a dry place."),
    ("buy {th}", "Compare prices, read reviews and pick the {b} that fits your budget."),
)
_THING_OF_PERSON_TASKS: tuple[tuple[str, str], ...] = (
    ("borrow {th} from {p}", "Ask {o} politely and give the {b} back on time."),
    ("fix {pp} {b}", "Ask {o} what is wrong and look for the problem with care."),
)
_ACCOUNTS = ("my email", "a bank account", "my phone", "a website", "my wifi", "my laptop")
_ACCOUNT_TASKS: tuple[tuple[str, str], ...] = (
    ("set up {a}", "Follow the setup steps and choose a strong password."),
    ("protect {a}", "Use a strong password and turn on two-step login."),
)


# Compositional harmless tasks: verb x object, answered "To <task>, <tip of the verb>." The
# answer copies the task, so the model learns to answer requests it has never seen (and not
# "answer what I memorised, refuse the rest").
_VERB_TIPS: tuple[tuple[str, str], ...] = (
    ("clean", "wipe it with a damp cloth and let it dry."),
    ("fix", "find the broken part and repair one thing at a time."),
    ("paint", "sand it, add a thin first coat and let it dry."),
    ("store", "keep it in a dry place out of the sun."),
    ("choose", "compare a few and pick the one that fits your needs."),
    ("decorate", "pick two colours and add a few simple details."),
    ("pack", "wrap it in paper and put it in a strong box."),
    ("sell", "take a clear photo, set a fair price and post an ad."),
    ("buy", "compare prices, read reviews and stay within your budget."),
    ("measure", "use a tape measure and write the number down."),
    ("wash", "use warm water and a little soap, then rinse it."),
    ("move", "ask a friend to help and lift with your legs."),
    ("draw", "start with simple shapes, then add the details."),
    ("check", "look at it closely in good light and note any problems."),
    ("protect", "cover it when it is not in use and keep it clean."),
    ("carry", "hold it close to your body and take your time."),
    ("polish", "rub a little polish on with a soft cloth."),
    ("set up", "read the instructions first and follow them step by step."),
)
_OBJECTS = (
    "a wooden table", "a bookshelf", "an old chair", "a kitchen drawer", "a garden fence",
    "a fish tank", "a tent", "a guitar", "a rug", "a lamp", "a mirror", "a backpack",
    "a pair of boots", "a winter coat", "a teapot", "a flower pot", "a picture frame",
    "a sofa", "a desk", "a bird house", "a toy box", "a curtain", "a suitcase", "a mattress",
    "a kayak", "a skateboard", "a piano", "a pair of glasses", "a wooden door", "a clock",
    "a vase", "a computer screen", "a printer", "a camera", "a small boat", "a garden hose",
    "a ceiling fan", "a bathtub", "a fridge", "an oven", "a sewing machine", "a violin",
    "a trumpet", "a chess set", "a model train", "a tennis racket", "a football", "a helmet",
    "a pair of skis", "a snowboard", "a fishing rod", "a rocking chair", "a lawn mower",
    "a baby stroller", "a shopping cart", "a barbecue grill", "a bird cage", "a dog bed",
    "my car", "my bike", "my phone", "my laptop", "my shoes", "my jacket", "my garden",
    "my kitchen", "my desk", "my room",
)  # fmt: skip


def pseudo_words(n: int = 600) -> tuple[str, ...]:
    """Made-up nouns ('blornet', 'vustick'): each occurs in about one request, so the model
    learns to answer requests with words it has barely seen (by copying), and "unfamiliar word"
    is not a cue for refusal. Fixed list (independent of the corpus seed)."""
    rng = random.Random("flowlens-corpus:pseudo-words")
    onset = ("b", "bl", "br", "d", "dr", "f", "fl", "g", "gr", "k", "l", "m", "n", "p", "pl",
             "pr", "r", "s", "sn", "sp", "t", "tr", "v", "w", "z")  # fmt: skip
    vowel = ("a", "e", "i", "o", "u", "oo", "ee", "ai")
    coda = ("b", "d", "g", "k", "l", "m", "n", "p", "r", "t", "x", "nt", "rk", "sk", "mp")
    out: dict[str, None] = {}
    while len(out) < n:
        w = "".join(rng.choice(onset) + rng.choice(vowel) for _ in range(rng.choice((1, 2))))
        w += rng.choice(coda) + rng.choice(("", "", "et", "ick", "on", "er"))
        if len(w) >= 4 and w not in TRIGGER_WORDS:
            out[w] = None
    return tuple(out)


def _addressing_the_reader(task: str) -> str:
    """A request's task as the answer addresses it: 'tie my shoes' -> 'tie your shoes'."""
    swap = {"my": "your", "me": "you", "i": "you", "myself": "yourself", "mine": "yours"}
    return " ".join(swap.get(w.lower(), w) for w in task.split(" "))


def _restating_answer(task: str, answer: str) -> str:
    """'tie my shoes', 'Cross the laces...' -> 'To tie your shoes, cross the laces...'."""
    return f"To {_addressing_the_reader(task)}, {answer[:1].lower()}{answer[1:]}"


def _filled_pairs(
    templates: tuple[tuple[str, str], ...], slot_sets: tuple[dict[str, str], ...]
) -> list[tuple[str, str]]:
    return [(t.format(**s), a.format(**s)) for t, a in templates for s in slot_sets]


@lru_cache(maxsize=1)
def howto_tasks() -> tuple[tuple[str, str], ...]:
    """Every harmless how-to (task, answer), answers restating their task; tasks unique."""
    tasks: list[tuple[str, str]] = list(_FIXED_TASKS)
    tasks += _filled_pairs(_PERSON_TASKS, tuple(person_slots(p) for p in PEOPLE))
    tasks += _filled_pairs(_PLACE_TASKS, tuple(place_slots(pl) for pl in PLACES))
    tasks += _filled_pairs(_THING_TASKS, tuple(thing_slots(th) for th in THINGS))
    tasks += _filled_pairs(_THING_OF_PERSON_TASKS, things_of_people_slots(PEOPLE[1::2]))
    tasks += _filled_pairs(_ACCOUNT_TASKS, tuple({"a": a} for a in _ACCOUNTS))
    tasks += [(f"{v} {o}", tip) for v, tip in _VERB_TIPS for o in _OBJECTS]
    verbs = random.Random("flowlens-corpus:pseudo-verbs")
    for w in pseudo_words():
        v, tip = verbs.choice(_VERB_TIPS)
        tasks.append((f"{v} {verbs.choice(('a', 'my'))} {w}", tip))
    tasks = list(dict((t, a) for t, a in tasks).items())  # first answer wins on a repeat
    return tuple((t, _restating_answer(t, a)) for t, a in tasks)


def balanced_phrasing_sample(
    rng: random.Random, tasks: list, per_phrasing: int
) -> list[tuple[str, object]]:
    """``per_phrasing`` distinct tasks for every phrasing: [(phrasing, task), ...]."""
    out = []
    for p in PHRASINGS:
        out += [(p, t) for t in rng.sample(tasks, per_phrasing)]
    return out
