"""Name, street and place vocabularies, and the ways a name drifts between two records.

The surname list runs roughly in order of frequency in England and Wales, and a long tail of rarer
names is built from common English place-name parts, so a Zipf-like draw gives what matters for
linkage: many people share Smith or Jones, while most surnames are rare. Forenames carry the
nickname and spelling pairs (Jon/John, Kathryn/Catherine) that make HR and police records of the
same person disagree.
"""

from __future__ import annotations

import numpy as np

from custodes.synth.base import F64, zipf_weights


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


COMMON_SURNAMES = _words(
    "Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts Robinson "
    "Thompson Wright Walker White Edwards Hughes Green Hall Lewis Harris Clarke Patel Jackson "
    "Wood Turner Martin Cooper Hill Ward Morris Moore Clark Lee King Baker Harrison Morgan "
    "Allen James Scott Phillips Watson Davis Parker Price Bennett Young Griffiths Mitchell "
    "Kelly Cook Carter Richardson Bailey Collins Bell Shaw Murphy Miller Cox Richards Khan "
    "Marshall Anderson Simpson Ellis Adams Singh Begum Wilkinson Foster Chapman Powell Webb "
    "Rogers Gray Mason Ali Hunt Hussain Campbell Matthews Owen Palmer Holmes Mills Barnes "
    "Knight Lloyd Butler Russell Barker Fisher Stevens Jenkins Murray Dixon Harvey Graham "
    "Pearson Ahmed Fletcher Walsh Kaur Gibson Howard Andrews Stewart Elliott Reynolds "
    "Saunders Payne Fox Ford Pearce Day Brooks West Lawrence Cole Atkinson Bradley Spencer "
    "Gill Dawson Ball Burton O'Brien Watts Rose Booth Perry Ryan Grant Wells Armstrong "
    "Francis Rees Hayes Hart Hudson Newman Barrett Webster Hunter Gregory Carr Lowe Page "
    "Marsh Riley Dunn Woods Parsons Berry Stone Reid Holland Hawkins Harding Porter Robertson "
    "Newton Oliver Reed Kennedy Williamson Bird Gardner Shah Dean Lane Cooke Bates Henderson "
    "Parry Burgess Bishop Walton Burns Nicholson Shepherd Ross Cross Long Freeman Warren "
    "Nicholls Hamilton Byrne Sutton McDonald Yates Hodgson Robson Curtis Hopkins O'Connor "
    "Harper Coleman Watkins Moss McCarthy Chambers O'Neill Griffin Sharp Hardy Wheeler Potter "
    "Osborne Johnston Gordon Doyle Wallace George Jordan Hutchinson Rowe Burke May Pritchard "
    "Gilbert Willis Higgins Read Miles Stevenson Stephenson Hammond Arnold Buckley Walters "
    "Hewitt Barber Nelson Slater Austin Sullivan Whitehead Mann Frost Lambert Stephens Blake "
    "Akhtar Lynch Goodwin Barton Woodward Thomson Cunningham Quinn Barnett Baxter Bibi "
    "Clayton Nash Greenwood Jennings Holt Kemp Poole Gallagher Bond Stokes Tucker Davidson "
    "Fowler Heath Norman Middleton Lawson Banks French Stanley Jarvis Gibbs Ferguson Hayward "
    "Carroll Douglas Dickinson Todd Barlow Peters Lucas Knowles Hartley Miah Simmons Morton "
    "Alexander Field Morrison Norris Townsend Preston Hancock Thornton Baldwin Burrows Briggs "
    "Storey Pope"
)

_TAIL_HEADS = _words(
    "Ash Black Brad Brom Calde Chad Clif Cran Dal Dun East Fair Fen Gold Hale Hath Hen Hol "
    "Kings Lang Mar Mid Nor Oak Pen Red Rush Sal Shel Stan Thorn Wal Wen West Whit Wins Wood "
    "Yar"
)
_TAIL_TAILS = _words("bury by cott dale field ford ham hurst ley more stead ton well wick worth")

# The tail is built once, in a fixed order, so the same seed always draws the same names.
SURNAMES: tuple[str, ...] = COMMON_SURNAMES + tuple(
    head + tail for head in _TAIL_HEADS for tail in _TAIL_TAILS
)
SURNAME_WEIGHTS: F64 = zipf_weights(len(SURNAMES), exponent=1.05, shift=12.0)

MALE_FORENAMES = _words(
    "John David Michael Paul James Andrew Peter Mark Richard Robert Christopher Stephen "
    "Daniel Thomas Matthew William Anthony Ian Steven Jonathan Simon Gary Kevin Martin Alan "
    "Lee Neil Jason Adam Craig Darren Wayne Dean Carl Shaun Ryan Liam Jack Oliver Harry "
    "George Charlie Joshua Samuel Benjamin Joseph Luke Nathan Callum Connor Kieran Jamie Ben "
    "Aaron Philip Nicholas Alexander Graham Keith Colin Terry Barry Raymond Mohammed Ahmed "
    "Tariq Imran"
)
FEMALE_FORENAMES = _words(
    "Sarah Emma Claire Laura Rebecca Helen Nicola Louise Rachel Lisa Amy Jennifer Joanne "
    "Michelle Kelly Samantha Victoria Elizabeth Catherine Karen Susan Julie Deborah Tracey "
    "Donna Angela Jacqueline Margaret Patricia Linda Ann Jane Mary Gemma Stacey Natalie "
    "Hannah Charlotte Jessica Sophie Chloe Lauren Megan Olivia Amelia Emily Grace Ella Lucy "
    "Holly Zoe Katie Jade Kirsty Leanne Danielle Hayley Kathryn Alison Fiona Carol Sharon "
    "Wendy Fatima Aisha Amina Priya"
)
MALE_WEIGHTS: F64 = zipf_weights(len(MALE_FORENAMES), exponent=0.9, shift=4.0)
FEMALE_WEIGHTS: F64 = zipf_weights(len(FEMALE_FORENAMES), exponent=0.9, shift=4.0)

# Spellings and short forms of one forename that turn up across two records of the same person.
FORENAME_VARIANTS: dict[str, tuple[str, ...]] = {
    "John": ("Jon", "Johnny", "Jack"),
    "Jonathan": ("Jon", "Johnathan", "Jonathon"),
    "David": ("Dave", "Davey"),
    "Michael": ("Mike", "Micheal", "Mick"),
    "Paul": ("Paule",),
    "James": ("Jim", "Jamie", "Jimmy"),
    "Andrew": ("Andy", "Drew"),
    "Peter": ("Pete",),
    "Richard": ("Rich", "Rick", "Ricky"),
    "Robert": ("Rob", "Bob", "Bobby"),
    "Christopher": ("Chris", "Kristopher"),
    "Stephen": ("Steven", "Steve"),
    "Steven": ("Stephen", "Steve"),
    "Daniel": ("Dan", "Danny"),
    "Thomas": ("Tom", "Tommy"),
    "Matthew": ("Matt", "Mathew"),
    "William": ("Bill", "Will", "Billy"),
    "Anthony": ("Tony", "Antony"),
    "Nicholas": ("Nick", "Nicolas"),
    "Alexander": ("Alex", "Alistair"),
    "Benjamin": ("Ben",),
    "Joseph": ("Joe",),
    "Samuel": ("Sam",),
    "Philip": ("Phillip", "Phil"),
    "Mohammed": ("Muhammad", "Mohammad", "Mohamed"),
    "Catherine": ("Kathryn", "Katherine", "Cathy", "Kate"),
    "Kathryn": ("Catherine", "Kate", "Katy"),
    "Elizabeth": ("Liz", "Beth", "Elisabeth"),
    "Rebecca": ("Becky", "Rebekah"),
    "Jennifer": ("Jenny", "Jen"),
    "Samantha": ("Sam", "Sammy"),
    "Victoria": ("Vicky", "Vikki"),
    "Deborah": ("Debbie", "Debra"),
    "Susan": ("Sue", "Suzanne"),
    "Jacqueline": ("Jackie",),
    "Margaret": ("Maggie", "Peggy"),
    "Patricia": ("Pat", "Trish"),
    "Claire": ("Clare",),
    "Ann": ("Anne", "Annie"),
    "Zoe": ("Zoë",),
    "Sarah": ("Sara",),
    "Nicola": ("Nicky", "Nichola"),
    "Joanne": ("Jo", "Joanna"),
    "Louise": ("Lou", "Louisa"),
    "Hayley": ("Haley", "Hailey"),
    "Leanne": ("Leann", "Lianne"),
    "Lee": ("Leigh",),
}

STREET_NAMES = _words(
    "High Church Mill Station Victoria Park London Queens Kings Albert Manor New School "
    "Chapel North South West East Grove Springfield Meadow Orchard Willow Oak Elm Beech Ash "
    "Cedar Hawthorn Rowan Holly Maple Chestnut Bridge Castle Abbey Priory Market Windsor "
    "Cromwell Nelson Wellington Marlborough Stanley Clarence Alexandra Richmond York "
    "Lancaster Warwick Ferndale Brookside Highfield Woodland Hillside Riverside Greenway "
    "Fairview Kingsway Parkside"
)
STREET_KINDS = _words("Road Street Lane Close Avenue Drive Way Crescent Gardens Terrace Place")

# Fictional towns for a fictional force; postcode areas follow the real format (AB12 3CD).
TOWNS = _words(
    "Northmoor Eastbridge Westcombe Southholt Kingsford Millbrook Ashbury Fenwick Hallowell "
    "Redcliffe Stanmere Thornbury Oakhampton Wendlebury Marbrook Dunmere Calderton Haleford "
    "Brompton Whitcombe Langley Penford Rushcombe Salterton Shelbourne Windle Yarcombe "
    "Norbury"
)
POSTCODE_AREAS = ("WX", "WS", "WT")
# Letters allowed in the last two characters of a British postcode (no C I K M O V).
POSTCODE_UNIT_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"


def forename_weights(female: bool) -> tuple[tuple[str, ...], F64]:
    if female:
        return tuple(FEMALE_FORENAMES), FEMALE_WEIGHTS
    return tuple(MALE_FORENAMES), MALE_WEIGHTS


def nickname(rng: np.random.Generator, forename: str) -> str | None:
    """Another spelling or short form of ``forename``, or None where we know of none."""
    options = FORENAME_VARIANTS.get(forename)
    if not options:
        return None
    return options[int(rng.integers(len(options)))]


def transpose(rng: np.random.Generator, text: str) -> str:
    """Swap two adjacent letters: the commonest keying error in a name."""
    letters = [i for i in range(1, len(text) - 1) if text[i].isalpha() and text[i + 1].isalpha()]
    if not letters:
        return text
    i = letters[int(rng.integers(len(letters)))]
    swapped = text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    return swapped if swapped.lower() != text.lower() else text
