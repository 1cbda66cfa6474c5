"""The generator's word lists: topics with their hashtags and vocabulary, sentiment phrases.

Static data only. Every string is ASCII except the emojis, and none contains a quote, a
backslash or a control character, so a generated text is safe inside a JSON string once escaped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class Topic:
    """A latent topic: its hashtags (the first is its name in the truth files) and its nouns."""

    hashtags: tuple[str, ...]
    nouns: tuple[str, ...]

    @property
    def name(self) -> str:
        """The topic's key in the truth files: its first hashtag, lower-cased, without ``#``."""
        return self.hashtags[0].lower()


def _t(hashtags: str, nouns: str) -> Topic:
    return Topic(tuple(hashtags.split()), tuple(n.strip() for n in nouns.split(",")))


TOPICS: Final[tuple[Topic, ...]] = (
    _t("WorldCup Football FIFA", "final, penalty shootout, goalkeeper, midfield, referee, squad"),
    _t("NBA Basketball Playoffs", "three pointer, rookie, trade deadline, buzzer beater, coach"),
    _t("F1 Formula1 GrandPrix", "pit stop, qualifying lap, safety car, pole position, tyres"),
    _t("Tennis Wimbledon USOpen", "tiebreak, serve, baseline rally, second set, line judge"),
    _t("Cricket Ashes IPL", "innings, wicket, spin bowler, run chase, test match"),
    _t("AI MachineLearning LLM", "model release, benchmark, training run, chatbot, GPU cluster"),
    _t(
        "Python Programming OpenSource", "library, pull request, type hints, release notes, bug fix"
    ),
    _t("Crypto Bitcoin Ethereum", "token, exchange, wallet, halving, gas fees"),
    _t("Startups VC Founders", "seed round, pitch deck, valuation, accelerator, product launch"),
    _t("Cybersecurity Infosec Privacy", "data breach, patch, ransomware, password leak, audit"),
    _t("Gaming Esports Twitch", "patch notes, speedrun, tournament, boss fight, new season"),
    _t("Movies Cinema Oscars", "trailer, sequel, box office, director cut, premiere"),
    _t("TVSeries Streaming Netflix", "season finale, pilot episode, cliffhanger, spin off, reboot"),
    _t("Music NewMusic Concert", "album, tour, setlist, single, headline show"),
    _t("KPop BTS Kdrama", "comeback, music video, fan meeting, dance practice, teaser"),
    _t("Books BookTok Reading", "novel, book club, audiobook, sequel, author signing"),
    _t("Food Foodie Recipes", "ramen, tasting menu, street food, brunch, dessert"),
    _t("Coffee Barista Espresso", "latte, pour over, roastery, flat white, cold brew"),
    _t("Travel Wanderlust Vacation", "flight, hostel, road trip, itinerary, layover"),
    _t("Airlines Aviation Flights", "delay, boarding, lost luggage, upgrade, cabin crew"),
    _t("Climate ClimateAction Sustainability", "heatwave, emissions, solar farm, recycling, flood"),
    _t("Space NASA SpaceX", "rocket launch, rover, space station, telescope image, booster"),
    _t("Science Research Physics", "experiment, paper, peer review, lab result, discovery"),
    _t("Health Wellness Fitness", "workout, marathon, sleep routine, gym session, yoga class"),
    _t("Medicine Healthcare Nursing", "hospital, vaccine, clinic, night shift, waiting list"),
    _t("Politics Election Vote", "debate, poll, campaign, ballot, policy"),
    _t("Economy Markets Stocks", "earnings, inflation, rate cut, stock price, quarterly report"),
    _t("RealEstate Housing Rent", "rent, mortgage, apartment, landlord, open house"),
    _t("Fashion Style OOTD", "outfit, sneakers, runway, vintage jacket, collection"),
    _t("Photography Photo Camera", "lens, golden hour, portrait, shutter, photo walk"),
    _t("Art Design Illustration", "sketch, exhibition, gallery, mural, commission"),
    _t("Pets Dogs Cats", "puppy, vet visit, kitten, dog park, rescue"),
    _t("Gardening Plants Garden", "tomatoes, seedlings, compost, houseplant, harvest"),
    _t("Cars EV Tesla", "electric car, charging station, test drive, range, dealership"),
    _t("Phones Apple Android", "update, battery life, new phone, camera app, keynote"),
    _t("Education Teachers Students", "exam, homework, lecture, semester, graduation"),
    _t("Jobs Career Hiring", "interview, job offer, layoffs, remote work, promotion"),
    _t("Weather Storm Snow", "forecast, thunderstorm, snow day, heat warning, rainfall"),
    _t("Comedy Memes Funny", "meme, stand up set, sketch, joke, roast"),
    _t("Parenting Family Kids", "school run, bedtime, toddler, family trip, playground"),
    _t("Hiking Outdoors Camping", "trail, summit, campsite, national park, sunrise hike"),
    _t("Anime Manga Otaku", "new arc, opening song, manga chapter, studio, cosplay"),
)
"""42 topics. Each hashtag belongs to one topic only, so a hashtag identifies its topic."""

INTENSIFIERS: Final = ("really", "absolutely", "totally", "so", "extremely", "truly")

# Phrases by (label, strength); ``{n}`` is a topic noun, ``{i}`` an intensifier. Negation is
# planted on purpose ("not bad at all" is positive, "not good" negative) so that a bag-of-words
# model is not enough.
POSITIVE_MILD: Final = (
    "the {n} was pretty good",
    "quite happy with the {n}",
    "nice to see the {n} today",
    "the {n} is not bad at all",
    "never disappointed by the {n}",
    "enjoyed the {n}",
    "the {n} looks promising",
    "glad I checked out the {n}",
    "can't complain about the {n}",
)
POSITIVE_STRONG: Final = (
    "{i} love the {n}!",
    "the {n} is {i} amazing",
    "best {n} ever!!",
    "the {n} was incredible, what a day",
    "{i} thrilled about the {n}",
    "the {n} is fantastic, brilliant work",
    "never been happier with the {n}",
)
NEGATIVE_MILD: Final = (
    "the {n} was not good",
    "a bit disappointed with the {n}",
    "not happy with the {n}",
    "the {n} could have been better",
    "the {n} is kind of annoying",
    "meh, the {n} was boring",
    "never really liked the {n}",
    "the {n} didn't work for me",
)
NEGATIVE_STRONG: Final = (
    "{i} hate the {n}",
    "the {n} is a total disaster",
    "worst {n} ever!!",
    "the {n} was awful and infuriating",
    "{i} angry about the {n}",
    "the {n} is terrible, what a waste",
    "disgusted by the {n}, never again",
)
NEUTRAL: Final = (
    "reading about the {n}",
    "anyone following the {n}?",
    "new update on the {n}",
    "the {n} starts at 6pm",
    "thread on the {n} below",
    "what do you think about the {n}?",
    "the {n} is scheduled for tomorrow",
    "here is a summary of the {n}",
    "live notes from the {n}",
)
CONTEXT: Final = (
    "More on the {n} later.",
    "Also watching the {n}.",
    "Next up: the {n}.",
    "Via the {n} thread.",
    "Someone mentioned the {n} too.",
)

EMOJI_POSITIVE: Final = ("😍", "🎉", "👍", "😊", "🔥", "🙌")
EMOJI_NEGATIVE: Final = ("😡", "😞", "👎", "😤", "💔", "😢")
EMOJI_NEUTRAL: Final = ("🤔", "📅", "📰", "👀")

HANDLE_FIRST: Final = (
    "alex",
    "sam",
    "maria",
    "li",
    "ana",
    "omar",
    "nina",
    "jon",
    "kai",
    "lea",
    "tom",
    "eva",
    "raj",
    "yuki",
    "ivan",
    "zoe",
    "ben",
    "ada",
    "max",
    "mia",
    "leo",
    "noor",
    "pablo",
    "sara",
    "dev",
    "amy",
    "finn",
    "ines",
    "hugo",
    "tara",
)
HANDLE_SECOND: Final = (
    "fox",
    "codes",
    "runs",
    "writes",
    "bakes",
    "the_dev",
    "news",
    "fan",
    "hq",
    "daily",
    "lab",
    "eats",
    "pics",
    "life",
    "talks",
    "world",
    "plays",
)
