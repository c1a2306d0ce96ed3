"""Streams of contextual-bandit events for the learning benchmark.

A stream is built once per seed, as plain Python values, and both learners get exactly the same
events: the server as Rank requests (namespaces of text and number features, through the Python
client) and Vowpal Wabbit as text-format lines built from the same values (see `vw_lines`).

Every event carries `expected[a]`, the expected reward of each action, and `draw`, one uniform
number in [0, 1): the reward of action a is 1 when `draw < expected[a]`, else 0. For the supervised
streams `expected` is 1 for the right class and 0 otherwise, so the reward is exact; for the
simulator it is the hidden click probability, and both learners see the same click for the same
(event, action) — common random numbers, so the comparison is not blurred by reward noise.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Event:
    context: dict            # namespace -> feature name -> str | float
    actions: list            # [{"id": str, "features": {namespace: {name: value}}}]
    expected: np.ndarray     # expected reward of each action
    draw: float              # uniform in [0, 1): reward(a) = 1 if draw < expected[a]
    label: int = -1          # supervised streams: the right action's index

    def reward(self, action_index: int) -> float:
        return 1.0 if self.draw < self.expected[action_index] else 0.0


@dataclass
class Stream:
    name: str
    description: str
    interactions: str        # the -q arguments both learners use for this stream
    events: list
    num_classes: int = 0     # supervised streams: for the full-information reference
    optimal: np.ndarray = field(default_factory=lambda: np.zeros(0))  # best expected reward per event


# ----------------------------------------------------------------------------------------------
# Text format for Vowpal Wabbit


def _format_number(x: float) -> str:
    return repr(float(x))


def _vw_namespaces(features: dict) -> str:
    parts = []
    for ns, feats in features.items():
        tokens = [ns]
        for name, value in feats.items():
            if isinstance(value, str):
                tokens.append(f"{name}={value}")
            else:
                tokens.append(f"{name}:{_format_number(value)}")
        parts.append("|" + " ".join(tokens))
    return " ".join(parts)


def vw_lines(event: Event, chosen: int = -1, cost: float = 0.0, probability: float = 1.0) -> list:
    """The event as VW `--cb_explore_adf` text lines; with `chosen` >= 0 the chosen action's line
    carries the label `0:cost:probability`."""
    lines = ["shared " + _vw_namespaces(event.context)]
    for index, action in enumerate(event.actions):
        line = _vw_namespaces(action["features"])
        if index == chosen:
            line = f"0:{_format_number(cost)}:{_format_number(probability)} " + line
        lines.append(line)
    return lines


def vw_multiclass_line(event: Event) -> str:
    """The context alone with its 1-based class label, for the full-information `--oaa` reference."""
    return f"{event.label + 1} " + _vw_namespaces(event.context)


# ----------------------------------------------------------------------------------------------
# Supervised data sets bundled with scikit-learn, as bandit streams: each class is an action
# (namespace "A", one feature class=k), the sample's features form the context (namespace "U").


def _supervised(name: str, length: int, seed: int) -> Stream:
    from sklearn import datasets

    if name == "digits":
        data = datasets.load_digits()
        x = data.data / 16.0   # pixel intensities 0..16 -> [0, 1]
        description = "scikit-learn digits: 1,797 8x8 images, 64 pixel features, 10 classes"
    elif name == "iris":
        data = datasets.load_iris()
        x = (data.data - data.data.mean(axis=0)) / data.data.std(axis=0)
        description = "scikit-learn iris: 150 flowers, 4 standardized features, 3 classes"
    elif name == "breast_cancer":
        data = datasets.load_breast_cancer()
        x = (data.data - data.data.mean(axis=0)) / data.data.std(axis=0)
        description = "scikit-learn breast cancer: 569 tumours, 30 standardized features, 2 classes"
    else:
        raise ValueError(f"unknown supervised stream {name!r}")
    y = data.target.astype(int)
    classes = int(y.max()) + 1
    x = np.round(x, 5)

    rng = np.random.default_rng([seed, 17])
    order = []
    while len(order) < length:   # passes over the data set, each in a new random order
        order.extend(rng.permutation(len(y)).tolist())
    order = order[:length]
    draws = rng.random(length)

    contexts = []
    for row in x:
        contexts.append({"U": {f"f{j}": float(v) for j, v in enumerate(row) if v != 0.0}})
    actions = [{"id": f"class-{k}", "features": {"A": {"class": f"c{k}"}}} for k in range(classes)]
    events = []
    for t, i in enumerate(order):
        expected = np.zeros(classes)
        expected[y[i]] = 1.0
        events.append(Event(context=contexts[i], actions=actions, expected=expected,
                            draw=float(draws[t]), label=int(y[i])))
    return Stream(name=name, description=f"{description}; {length} events (passes in random order)",
                  interactions="-q UA", events=events, num_classes=classes,
                  optimal=np.ones(length))


# ----------------------------------------------------------------------------------------------
# A synthetic personalization simulator.
#
# Users have categorical features (segment, device, region, time of day) and numeric ones (age,
# activity) in namespace "User"; articles have a topic, a format, an id and numeric length and
# recency in namespace "Article". The click probability is sigmoid(base + popularity(a) +
# z(user) . v(article)): z sums a hidden vector per user feature value (numbers scale theirs), v
# sums hidden vectors of the article's topic and format plus its own. A linear model over
# User x Article feature pairs can represent the logit, not the sigmoid. With `drift`, the
# hidden vectors of the segments and of the time of day are drawn anew halfway through the
# stream: the users' tastes change at once, and the learners must notice.

SEGMENTS = 8
DEVICES = 3
REGIONS = 6
DAYPARTS = 4
TOPICS = 8
FORMATS = 3
LATENT = 4


class _World:
    def __init__(self, rng: np.random.Generator, articles: int):
        def vectors(count, scale):
            return rng.normal(0.0, scale, size=(count, LATENT))

        self.segment = vectors(SEGMENTS, 1.0)
        self.device = vectors(DEVICES, 0.5)
        self.region = vectors(REGIONS, 0.5)
        self.daypart = vectors(DAYPARTS, 0.5)
        self.age = vectors(1, 1.0)[0]
        self.activity = vectors(1, 1.0)[0]
        self.topic_vectors = vectors(TOPICS, 1.0)
        self.format_vectors = vectors(FORMATS, 0.5)
        self.article_topic = rng.integers(0, TOPICS, size=articles)
        self.article_format = rng.integers(0, FORMATS, size=articles)
        self.article_own = vectors(articles, 0.3)
        self.popularity = rng.normal(0.0, 0.3, size=articles)
        self.length = np.round(rng.uniform(0.2, 2.0, size=articles), 3)
        self.recency = np.round(rng.uniform(0.0, 1.0, size=articles), 3)
        self.article_vectors = (self.topic_vectors[self.article_topic]
                                + self.format_vectors[self.article_format] + self.article_own)

    def redraw_tastes(self, rng: np.random.Generator) -> None:
        self.segment = rng.normal(0.0, 1.0, size=self.segment.shape)
        self.daypart = rng.normal(0.0, 0.5, size=self.daypart.shape)

    def click_probabilities(self, user: tuple, articles: np.ndarray) -> np.ndarray:
        segment, device, region, daypart, age, activity = user
        z = (self.segment[segment] + self.device[device] + self.region[region]
             + self.daypart[daypart] + age * self.age + activity * self.activity)
        logit = -2.0 + self.popularity[articles] + 0.9 * (self.article_vectors[articles] @ z)
        return 1.0 / (1.0 + np.exp(-logit))


def _simulator(name: str, length: int, seed: int, articles: int, offered: int, drift: bool) -> Stream:
    world_rng = np.random.default_rng([seed, 29, articles])
    world = _World(world_rng, articles)
    rng = np.random.default_rng([seed, 31, articles, int(drift)])
    article_features = []
    for a in range(articles):
        article_features.append({"Article": {
            "id": f"a{a}", "topic": f"t{world.article_topic[a]}", "format": f"f{world.article_format[a]}",
            "length": float(world.length[a]), "recency": float(world.recency[a])}})

    events = []
    optimal = np.zeros(length)
    for t in range(length):
        if drift and t == length // 2:
            world.redraw_tastes(world_rng)
        user = (int(rng.integers(SEGMENTS)), int(rng.integers(DEVICES)), int(rng.integers(REGIONS)),
                int(rng.integers(DAYPARTS)), round(float(rng.uniform(0.18, 0.8)), 3),
                round(float(rng.beta(2.0, 5.0)), 3))
        if offered < articles:
            shown = rng.choice(articles, size=offered, replace=False)
        else:
            shown = rng.permutation(articles)
        expected = world.click_probabilities(user, shown)
        context = {"User": {"segment": f"s{user[0]}", "device": f"d{user[1]}", "region": f"r{user[2]}",
                            "daypart": f"h{user[3]}", "age": user[4], "activity": user[5]}}
        actions = [{"id": f"article-{a}", "features": article_features[a]} for a in shown]
        events.append(Event(context=context, actions=actions, expected=expected, draw=float(rng.random())))
        optimal[t] = float(expected.max())
    if drift:
        description = (f"simulated news site: {articles} articles, all offered in random order; the users' "
                       f"tastes change abruptly halfway; {length} events")
    else:
        description = (f"simulated news site: {articles} articles, {offered} random ones offered per "
                       f"event; {length} events")
    return Stream(name=name, description=description, interactions="-q UA", events=events,
                  optimal=optimal)


# ----------------------------------------------------------------------------------------------

# name -> (builder, default length, quick length)
STREAMS = {
    "digits": (lambda n, s: _supervised("digits", n, s), 5000, 2000),
    "iris": (lambda n, s: _supervised("iris", n, s), 2000, 1000),
    "breast_cancer": (lambda n, s: _supervised("breast_cancer", n, s), 3000, 1500),
    "news": (lambda n, s: _simulator("news", n, s, articles=30, offered=10, drift=False), 10000, 3000),
    "news_drift": (lambda n, s: _simulator("news_drift", n, s, articles=20, offered=20, drift=True), 10000, 3000),
}
SUPERVISED = ("digits", "iris", "breast_cancer")


def build(name: str, seed: int, quick: bool = False, length: int | None = None) -> Stream:
    builder, full, short = STREAMS[name]
    return builder(length or (short if quick else full), seed)


if __name__ == "__main__":   # a quick look at the streams
    for stream_name in STREAMS:
        s = build(stream_name, 0)
        mean_expected = float(np.mean([e.expected.mean() for e in s.events]))
        print(f"{stream_name:14s} {len(s.events):6d} events, {len(s.events[0].actions)} actions, "
              f"uniform policy {mean_expected:.3f}, optimal {s.optimal.mean():.3f}")
        print("   ", " / ".join(vw_lines(s.events[0])[:2]))
