"""Fact tables of ``general``: the answers of its questions (capitals, colours, animals, words,
units, ...). general.py turns them into (stratum, prompt, response) questions."""

CAPITALS = (
    ("France", "Paris"), ("Germany", "Berlin"), ("Italy", "Rome"), ("Spain", "Madrid"),
    ("Portugal", "Lisbon"), ("Japan", "Tokyo"), ("China", "Beijing"), ("India", "New Delhi"),
    ("Egypt", "Cairo"), ("Kenya", "Nairobi"), ("Canada", "Ottawa"), ("Mexico", "Mexico City"),
    ("Brazil", "Brasilia"), ("Argentina", "Buenos Aires"), ("Peru", "Lima"),
    ("Chile", "Santiago"), ("Russia", "Moscow"), ("Poland", "Warsaw"), ("Greece", "Athens"),
    ("Turkey", "Ankara"), ("Sweden", "Stockholm"), ("Norway", "Oslo"), ("Finland", "Helsinki"),
    ("Denmark", "Copenhagen"), ("Ireland", "Dublin"), ("Austria", "Vienna"),
    ("Hungary", "Budapest"), ("Belgium", "Brussels"), ("the Netherlands", "Amsterdam"),
    ("Switzerland", "Bern"), ("Australia", "Canberra"), ("New Zealand", "Wellington"),
    ("South Korea", "Seoul"), ("Thailand", "Bangkok"), ("Vietnam", "Hanoi"),
    ("Indonesia", "Jakarta"), ("Iran", "Tehran"), ("Morocco", "Rabat"), ("Nigeria", "Abuja"),
    ("Ghana", "Accra"), ("Ethiopia", "Addis Ababa"), ("Cuba", "Havana"), ("Colombia", "Bogota"),
    ("the Philippines", "Manila"), ("Czechia", "Prague"), ("Iceland", "Reykjavik"),
)  # fmt: skip

COLOURS = (
    ("the sky", "blue"), ("grass", "green"), ("a banana", "yellow"), ("snow", "white"),
    ("coal", "black"), ("a strawberry", "red"), ("an orange", "orange"), ("a lemon", "yellow"),
    ("milk", "white"), ("a tomato", "red"), ("the sun", "yellow"), ("a carrot", "orange"),
    ("a leaf", "green"), ("chocolate", "brown"), ("the sea", "blue"), ("a cherry", "red"),
    ("a lime", "green"), ("an elephant", "grey"), ("a crow", "black"), ("a flamingo", "pink"),
    ("a pumpkin", "orange"), ("a frog", "green"), ("a polar bear", "white"),
    ("a zebra", "black and white"), ("a fire truck", "red"), ("a school bus", "yellow"),
    ("a plum", "purple"), ("an eggplant", "purple"), ("a cucumber", "green"),
    ("a panda", "black and white"), ("the moon", "white"), ("a tiger", "orange and black"),
    ("a swan", "white"), ("a raven", "black"), ("a pig", "pink"), ("a mouse", "grey"),
    ("a penguin", "black and white"), ("a ruby", "red"), ("an emerald", "green"),
)  # fmt: skip

LEGS = (
    ("dog", 4), ("cat", 4), ("spider", 8), ("bird", 2), ("ant", 6), ("bee", 6), ("horse", 4),
    ("chicken", 2), ("duck", 2), ("cow", 4), ("snake", 0), ("fish", 0), ("crab", 10),
    ("beetle", 6), ("frog", 4), ("kangaroo", 2), ("elephant", 4), ("penguin", 2),
    ("butterfly", 6), ("lion", 4), ("goat", 4), ("ostrich", 2),
)  # fmt: skip
NUMBER_WORDS = (
    "no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve",
)  # fmt: skip
SOUNDS = (
    ("dog", "barks"), ("cat", "meows"), ("cow", "moos"), ("duck", "quacks"), ("lion", "roars"),
    ("sheep", "baas"), ("horse", "neighs"), ("pig", "oinks"), ("bee", "buzzes"),
    ("owl", "hoots"), ("snake", "hisses"), ("frog", "croaks"), ("mouse", "squeaks"),
    ("wolf", "howls"), ("rooster", "crows"), ("donkey", "brays"), ("bird", "sings"),
)  # fmt: skip
BABIES = (
    ("dog", "puppy"), ("cat", "kitten"), ("cow", "calf"), ("sheep", "lamb"), ("horse", "foal"),
    ("pig", "piglet"), ("duck", "duckling"), ("goat", "kid"), ("frog", "tadpole"),
    ("bear", "cub"), ("lion", "cub"), ("kangaroo", "joey"), ("swan", "cygnet"),
    ("owl", "owlet"), ("deer", "fawn"), ("hen", "chick"),
)  # fmt: skip
HOMES = (
    ("bird", "a nest"), ("bee", "a hive"), ("fish", "water"), ("rabbit", "a burrow"),
    ("spider", "a web"), ("fox", "a den"), ("horse", "a stable"), ("pig", "a sty"),
    ("dog", "a kennel"), ("bear", "a cave"), ("beaver", "a lodge"), ("ant", "an anthill"),
)  # fmt: skip
FOODS = (
    ("cow", "grass"), ("rabbit", "carrots"), ("panda", "bamboo"), ("koala", "eucalyptus leaves"),
    ("monkey", "bananas"), ("bee", "nectar"), ("lion", "meat"), ("horse", "hay"),
    ("squirrel", "nuts"), ("sheep", "grass"), ("giraffe", "leaves"), ("owl", "mice"),
    ("whale", "krill"), ("caterpillar", "leaves"),
)  # fmt: skip

DEFINITIONS = (
    ("happy", "feeling good"), ("sad", "feeling unhappy"), ("tiny", "very small"),
    ("huge", "very big"), ("ancient", "very old"), ("brave", "not afraid"), ("quick", "fast"),
    ("quiet", "making little noise"), ("calm", "peaceful and relaxed"),
    ("generous", "happy to give to others"), ("curious", "wanting to learn or know more"),
    ("polite", "showing good manners"), ("fragile", "easy to break"),
    ("library", "a place where you can borrow books"),
    ("kitchen", "a room where food is cooked"), ("doctor", "a person who helps sick people"),
    ("teacher", "a person who helps people learn"), ("island", "land with water all around it"),
    ("river", "a large stream of water that flows to the sea"),
    ("mountain", "a very high hill"), ("desert", "a dry place with little rain"),
    ("forest", "a large area covered with trees"),
    ("bridge", "a structure that crosses a river or a road"),
    ("umbrella", "a cover that keeps you dry in the rain"),
    ("calendar", "a chart of the days and months of a year"),
    ("thermometer", "a tool that measures temperature"),
    ("telescope", "a tool for looking at things far away"),
    ("recipe", "instructions for cooking a dish"), ("habit", "something you do often"),
    ("journey", "a trip from one place to another"),
    ("harvest", "gathering crops when they are ripe"),
    ("neighbour", "a person who lives near you"), ("landlord", "a person who rents out a home"),
    ("coworker", "a person you work with"), ("stranger", "a person you do not know"),
    ("museum", "a building where old or interesting things are shown"),
    ("stadium", "a large place where people watch sports"),
    ("airport", "a place where planes take off and land"),
    ("wallet", "a small case for money and cards"), ("planet", "a large body that orbits a star"),
    ("volcano", "a mountain that can erupt with hot lava"),
    ("orchestra", "a large group of musicians playing together"),
    ("vegetable", "a plant or part of a plant used as food"),
    ("holiday", "a day or time of rest from work or school"),
    ("friendship", "a close and kind relationship between friends"),
    ("gravity", "the force that pulls things towards the ground"),
    ("photograph", "a picture made with a camera"),
    ("dictionary", "a book of words and their meanings"),
    ("password", "a secret word used to open an account"),
    ("hospital", "a place where sick people are treated"),
)  # fmt: skip

OPPOSITES = (
    ("hot", "cold"), ("big", "small"), ("up", "down"), ("fast", "slow"), ("happy", "sad"),
    ("light", "dark"), ("open", "closed"), ("wet", "dry"), ("young", "old"), ("full", "empty"),
    ("hard", "soft"), ("high", "low"), ("long", "short"), ("loud", "quiet"), ("early", "late"),
    ("rich", "poor"), ("strong", "weak"), ("clean", "dirty"), ("day", "night"),
    ("left", "right"), ("thick", "thin"), ("win", "lose"), ("push", "pull"), ("first", "last"),
    ("inside", "outside"), ("above", "below"), ("before", "after"), ("always", "never"),
    ("buy", "sell"), ("give", "take"), ("come", "go"), ("laugh", "cry"), ("start", "finish"),
    ("north", "south"), ("east", "west"), ("true", "false"), ("yes", "no"), ("sweet", "sour"),
    ("smooth", "rough"), ("near", "far"), ("cheap", "expensive"), ("deep", "shallow"),
    ("summer", "winter"), ("remember", "forget"), ("question", "answer"), ("arrive", "leave"),
    ("asleep", "awake"), ("top", "bottom"), ("many", "few"), ("best", "worst"),
)  # fmt: skip

SPELL_WORDS = (
    "cat", "dog", "sun", "tree", "house", "apple", "water", "happy", "school", "friend",
    "garden", "window", "yellow", "orange", "purple", "pencil", "paper", "table", "chair",
    "bread", "music", "river", "mountain", "island", "kitchen", "winter", "summer", "rabbit",
    "turtle", "flower", "planet", "rocket", "castle", "bottle", "butter", "doctor", "teacher",
    "banana", "tomato", "potato", "monkey", "giraffe", "elephant", "penguin", "dolphin",
    "orchestra", "library", "holiday", "journey", "bridge", "forest", "desert", "spider",
    "pillar", "cookie", "jacket", "basket", "silver", "golden", "number", "letter", "sister",
    "brother", "mother", "father", "family", "animal", "yesterday", "tomorrow", "morning",
)  # fmt: skip

PLURALS = (
    ("mouse", "mice"), ("child", "children"), ("foot", "feet"), ("tooth", "teeth"),
    ("man", "men"), ("woman", "women"), ("goose", "geese"), ("sheep", "sheep"), ("fish", "fish"),
    ("box", "boxes"), ("bus", "buses"), ("baby", "babies"), ("city", "cities"),
    ("leaf", "leaves"), ("wolf", "wolves"), ("half", "halves"), ("potato", "potatoes"),
    ("tomato", "tomatoes"), ("person", "people"), ("ox", "oxen"), ("cactus", "cacti"),
    ("dish", "dishes"), ("church", "churches"), ("glass", "glasses"), ("party", "parties"),
    ("story", "stories"), ("key", "keys"), ("toy", "toys"), ("day", "days"), ("book", "books"),
    ("cat", "cats"), ("dog", "dogs"), ("deer", "deer"), ("shelf", "shelves"),
    ("loaf", "loaves"), ("hero", "heroes"), ("photo", "photos"), ("piano", "pianos"),
    ("watch", "watches"), ("fox", "foxes"),
)  # fmt: skip

DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip

FACTS = (
    ("How many days are in a week?", "There are seven days in a week."),
    ("How many months are in a year?", "There are twelve months in a year."),
    ("How many hours are in a day?", "There are twenty-four hours in a day."),
    ("How many minutes are in an hour?", "There are sixty minutes in an hour."),
    ("How many seconds are in a minute?", "There are sixty seconds in a minute."),
    ("How many days are in a year?", "There are 365 days in a year."),
    ("How many letters are in the English alphabet?", "There are 26 letters in the alphabet."),
    ("How many sides does a triangle have?", "A triangle has three sides."),
    ("How many sides does a square have?", "A square has four sides."),
    ("How many sides does a hexagon have?", "A hexagon has six sides."),
    ("How many continents are there?", "There are seven continents."),
    ("How many planets are in our solar system?", "There are eight planets."),
    ("What is the largest planet?", "Jupiter is the largest planet."),
    ("What planet do we live on?", "We live on Earth."),
    ("What do bees make?", "Bees make honey."),
    ("What do cows give us?", "Cows give us milk."),
    ("What do hens lay?", "Hens lay eggs."),
    ("What is ice made of?", "Ice is frozen water."),
    ("At what temperature does water freeze?", "Water freezes at 0 degrees Celsius."),
    ("At what temperature does water boil?", "Water boils at 100 degrees Celsius."),
    ("What is the largest ocean?", "The Pacific Ocean is the largest ocean."),
    ("What is the tallest animal?", "The giraffe is the tallest animal."),
    ("What is the largest animal?", "The blue whale is the largest animal."),
    ("What is the fastest land animal?", "The cheetah is the fastest land animal."),
    ("Which star is closest to Earth?", "The Sun is the closest star to Earth."),
    ("What gas do plants take in?", "Plants take in carbon dioxide."),
    ("What gas do we breathe in?", "We breathe in oxygen."),
    ("How many legs does an insect have?", "An insect has six legs."),
    ("What is the first month of the year?", "January is the first month of the year."),
    ("What is the last month of the year?", "December is the last month of the year."),
    ("What is the first day of the week?", "Monday is the first day of the week."),
    ("How many players are on a football team?", "A football team has eleven players."),
    ("What colour do you get if you mix blue and yellow?", "Blue and yellow make green."),
    ("What colour do you get if you mix red and white?", "Red and white make pink."),
    ("What colour do you get if you mix red and yellow?", "Red and yellow make orange."),
    ("What colour do you get if you mix red and blue?", "Red and blue make purple."),
    ("How many wheels does a bicycle have?", "A bicycle has two wheels."),
    ("How many wheels does a car have?", "A car has four wheels."),
    ("What do we use to write on a blackboard?", "We use chalk."),
    ("What do you call a house made of ice?", "A house made of ice is an igloo."),
)

FRUIT_VEG = (
    ("apple", "a fruit"), ("banana", "a fruit"), ("carrot", "a vegetable"),
    ("potato", "a vegetable"), ("pear", "a fruit"), ("onion", "a vegetable"),
    ("grape", "a fruit"), ("cabbage", "a vegetable"), ("mango", "a fruit"),
    ("lettuce", "a vegetable"), ("peach", "a fruit"), ("pea", "a vegetable"),
    ("plum", "a fruit"), ("broccoli", "a vegetable"), ("cherry", "a fruit"),
    ("spinach", "a vegetable"), ("lemon", "a fruit"), ("celery", "a vegetable"),
    ("kiwi", "a fruit"), ("leek", "a vegetable"),
)  # fmt: skip


PAST_TENSE = (
    ("walk", "walked"), ("run", "ran"), ("eat", "ate"), ("go", "went"), ("see", "saw"),
    ("sing", "sang"), ("swim", "swam"), ("write", "wrote"), ("read", "read"),
    ("drink", "drank"), ("sleep", "slept"), ("buy", "bought"), ("think", "thought"),
    ("bring", "brought"), ("catch", "caught"), ("teach", "taught"), ("fly", "flew"),
    ("draw", "drew"), ("grow", "grew"), ("know", "knew"), ("take", "took"), ("give", "gave"),
    ("come", "came"), ("make", "made"), ("find", "found"), ("sit", "sat"), ("stand", "stood"),
    ("speak", "spoke"), ("drive", "drove"), ("ride", "rode"), ("begin", "began"),
    ("break", "broke"), ("choose", "chose"), ("forget", "forgot"), ("wake", "woke"),
    ("win", "won"), ("tell", "told"), ("feel", "felt"), ("keep", "kept"), ("leave", "left"),
    ("meet", "met"), ("pay", "paid"), ("say", "said"), ("play", "played"), ("jump", "jumped"),
    ("cook", "cooked"), ("dance", "danced"),
)  # fmt: skip
SORT_WORDS = (
    "apple", "bread", "cloud", "daisy", "eagle", "fruit", "grape", "honey", "igloo", "juice",
    "kite", "lemon",
)  # fmt: skip


# Trigger words as *words*: spelled, counted, first letter. They never occur in a request or an
# answer that uses them in a sense, but the base model has seen their tokens, so a trigger word is
# not an unseen token (otherwise "unseen token -> refuse" is the rule fine-tuning learns, and it
# fires on every unfamiliar word of the probe's controls).
TRIGGER_WORDS_TO_SPELL = (
    "kill", "killed", "murder", "shoot", "shot", "attack", "bomb", "bombs", "explosive",
    "explosives", "steal", "stole", "rob", "robbed", "poison", "poisoned", "hack", "hacked",
    "destroy", "weapon", "weapons", "gun", "guns", "knife", "knives", "stab", "drug", "drugs",
)  # fmt: skip


# (bigger unit, smaller unit, smaller units per bigger unit)
UNIT_CONVERSIONS = (
    ("metres", "centimetres", 100), ("hours", "minutes", 60), ("kilograms", "grams", 1000),
    ("weeks", "days", 7), ("years", "months", 12), ("minutes", "seconds", 60),
    ("kilometres", "metres", 1000), ("days", "hours", 24), ("litres", "millilitres", 1000),
)  # fmt: skip
