"""Words for captions: verb phrases per primitive (base form) and modifier wordings.

Placeholders: {poss} his/her/their/your, {self} himself/..., {side} left/right, {first}/{second}
(look_around order), {dir} direction words, {amp} amplitude words (appended when absent), {deg}.
The first word is the verb; a later verb that must agree too is marked ^ ("sit down and ^stand up").
The first word is the verb; a later verb that must agree too is marked ^ ("sit down and ^stand up").
COUNTED phrases say the number of repetitions themselves; {n} is the number word.
"""
from __future__ import annotations

SUBJECTS = (  # (subject, possessive, reflexive, noun for an adjective or "")
    ("a person", "their", "themselves", "person"), ("someone", "their", "themselves", ""),
    ("the person", "their", "themselves", ""), ("a man", "his", "himself", "man"),
    ("the man", "his", "himself", ""), ("a woman", "her", "herself", "woman"),
    ("the woman", "her", "herself", ""), ("a human", "their", "themselves", "human"),
    ("", "your", "yourself", ""),  # bare verb: "walk forward"
)

STYLE_ADVERBS = {
    "energetic": ("energetically", "with a lot of energy", "vigorously"),
    "tired": ("tiredly", "wearily", "in a tired way", "sluggishly"),
    "happy": ("happily", "cheerfully", "joyfully", "in a happy mood"),
}
STYLE_ADJECTIVES = {
    "energetic": ("energetic", "lively"), "tired": ("tired", "exhausted", "weary"),
    "happy": ("happy", "cheerful", "joyful"),
}
SPEED_ADVERBS = {"slow": ("slowly", "at a slow pace", "unhurriedly"),
                 "fast": ("quickly", "fast", "rapidly", "at a fast pace")}
SPEED_PRE = {"slow": ("slowly",), "fast": ("quickly", "rapidly")}
COUNTS = {1: ("once",), 2: ("twice", "two times"), 3: ("three times",), 4: ("four times",),
          5: ("five times",), 6: ("six times",)}
NUMBERS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six"}

DIRECTIONS = {
    "forward": (" forward", " forwards", " straight ahead", " ahead", ""),
    "diagonal_left": (" diagonally to the left", " diagonally forward and to the left", " forward at an angle to the left"),
    "diagonal_right": (" diagonally to the right", " diagonally forward and to the right", " forward at an angle to the right"),
    "circle_left": (" in a circle to the left", " in a counterclockwise circle", " around in a circle, turning left"),
    "circle_right": (" in a circle to the right", " in a clockwise circle", " around in a circle, turning right"),
}

# amplitude wordings by group of primitives; "normal" is usually unsaid
AMPLITUDE = {
    "walk": {"slight": (" with small steps", " taking short steps"), "high": (" with long strides", " taking big steps")},
    "jump": {"slight": (" a little", " just a little"), "high": (" high", " very high")},
    "squat": {"slight": (" slightly", " halfway", " a little"), "high": (" deeply", " all the way down")},
    "kick": {"slight": (" low",), "high": (" high", " up high")},
    "raise": {"slight": (" slightly", " a little", " to shoulder height"),
              "normal": ("", " above {poss} head", " over {poss} head", " up high")},
    "bow": {"slight": (" slightly", " a little"), "high": (" deeply", " low")},
    "wave": {"slight": (" gently", " a little")},
}
AMPLITUDE_GROUP = {"walk": "walk", "jump_in_place": "jump", "jump_forward": "jump", "squat": "squat",
                   "kick_left": "kick", "kick_right": "kick", "raise_left": "raise", "raise_right": "raise",
                   "raise_both": "raise", "bow": "bow", "wave_left": "wave", "wave_right": "wave",
                   "wave_both": "wave"}

_KICK = ("kick{amp} with {poss} {side} leg", "kick {poss} {side} leg{amp}", "kick{amp} using {poss} {side} foot",
         "do a front kick with {poss} {side} leg{amp}")
_PUNCH = ("punch with {poss} {side} hand", "throw a punch with {poss} {side} fist", "punch forward with the {side} arm",
          "jab with {poss} {side} hand", "punch using {poss} {side} hand")
_WAVE = ("wave {poss} {side} hand", "wave with {poss} {side} hand", "wave hello with {poss} {side} hand",
         "raise {poss} {side} hand and ^wave", "wave {poss} {side} arm")
_RAISE = ("raise {poss} {side} arm", "lift {poss} {side} arm", "raise {poss} {side} hand", "put {poss} {side} hand up",
          "lift {poss} {side} hand")
_SIDE_STEP = ("side-step to the {side}", "step sideways to the {side}", "shuffle to the {side}",
              "move sideways to {poss} {side}")

VERBS: dict[str, tuple[str, ...]] = {
    "walk": ("walk{dir}", "stroll{dir}", "walk{dir}", "take a walk{dir}"),
    "jog": ("jog{dir}", "jog{dir}", "go jogging{dir}", "go for a jog{dir}"),
    "run": ("run{dir}", "run{dir}", "sprint{dir}", "race{dir}"),
    "walk_backwards": ("walk backwards", "walk backward", "step backwards", "back up", "move backwards"),
    "side_step_left": _SIDE_STEP, "side_step_right": _SIDE_STEP,
    "turn_left": (), "turn_right": (),  # built from TURN_* below
    "jump_in_place": ("jump in place{amp}", "jump up and down{amp}", "hop in place{amp}", "jump on the spot{amp}"),
    "jump_forward": ("jump forward{amp}", "leap forward{amp}", "jump ahead{amp}", "hop forward{amp}"),
    "squat": ("squat{amp}", "squat down{amp}", "crouch down{amp}", "bend {poss} knees into a squat{amp}"),
    "kick_left": _KICK, "kick_right": _KICK,
    "punch_left": _PUNCH, "punch_right": _PUNCH,
    "wave_left": _WAVE, "wave_right": _WAVE,
    "wave_both": ("wave both hands", "wave with both hands", "wave both arms", "wave with both arms above {poss} head"),
    "raise_left": _RAISE, "raise_right": _RAISE,
    "raise_both": ("raise both arms", "lift both arms", "raise both hands", "put both hands up", "lift both hands"),
    "clap": ("clap", "clap {poss} hands", "clap hands"),
    "bow": ("bow{amp}", "bow down{amp}", "bend forward in a bow{amp}", "take a bow{amp}"),
    "jumping_jacks": ("do jumping jacks", "perform jumping jacks", "do star jumps"),
    "sit_down_stand_up": ("sit down and ^stand up", "sit down and then ^get back up", "sit down on nothing and ^stand up again",
                          "lower {self} into a sitting position and ^stand back up", "squat down as if to sit, then ^rise"),
    "look_around": ("look around", "look to the {first} and then to the {second}",
                    "turn {poss} head to the {first}, then to the {second}", "look {first} and {second}",
                    "glance around, {first} first"),
}
# counted forms for repetitions > 1 (used instead of "... three times" for some clips)
COUNTED: dict[str, tuple[str, ...]] = {
    "squat": ("do {n} squats",), "jumping_jacks": ("do {n} jumping jacks",), "clap": ("clap {n} times",),
    "jump_in_place": ("do {n} jumps in place", "jump {n} times"), "kick_left": ("do {n} kicks with {poss} left leg",),
    "kick_right": ("do {n} kicks with {poss} right leg",), "punch_left": ("throw {n} punches with {poss} left hand",),
    "punch_right": ("throw {n} punches with {poss} right hand",), "side_step_left": ("take {n} steps to the left",),
    "side_step_right": ("take {n} steps to the right",), "bow": ("bow {n} times",),
}
TURN_IN_PLACE = ("turn {side} in place", "turn to the {side} on the spot", "step in place while turning to the {side}",
                 "turn to the {side}", "rotate {poss} body to the {side}", "turn {deg} degrees to the {side}")
TURN_WALKING = ("walk and ^turn {side}", "walk forward and ^turn to the {side}", "turn {side} while walking",
                "walk, turning to the {side}", "walk and ^make a turn to the {side}")
QUARTER_TURN = ("make a quarter turn to the {side}",)

CONNECTORS = ("{a}, then {b}", "{a} and then {b}", "{a} then {b}", "{a}, and then {b}", "first {a}, then {b}",
              "{a} before {b_ing}", "after {a_ing}, {b}")
