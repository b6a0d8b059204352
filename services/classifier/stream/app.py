"""The composition root of the classifier's stream: the faust app, its topics and table, and the
agent with what it needs."""

from dataclasses import dataclass
from typing import Any

import faust

from services.classifier.concept_maps import with_trust_maps
from services.classifier.settings import ClassifierSettings
from services.classifier.stream.agent import ClassifyAgent
from services.classifier.stream.faust_app import RAW, faust_app, patients_table
from services.classifier.stream.in_flight import InFlight
from services.classifier.stream.metrics import ClassifierMetrics
from services.classifier.stream.pages import Pages
from services.classifier.stream.stopping import StopForReplay
from services.classifier.stream.topic_check import TableLayout
from services.classifier.terminology import Terminology, load_terminology
from shared.attempts import Attempts

MAX_PATIENTS_IN_FLIGHT = 1000
FAILED_ATTEMPTS_FILE = "failed-attempts.json"


@dataclass
class Classifier:
    app: faust.App
    agent: Any
    table: Any
    flags_topic: Any
    dead_letter_topic: Any
    metrics: ClassifierMetrics


def create_app(
    settings: ClassifierSettings, layout: TableLayout, terms: Terminology | None = None
) -> Classifier:
    """The worker's app; `layout` is the input topic's (`topic_check`), `terms` the terminology
    with the trust's maps (read here when not given)."""
    app = faust_app(settings, layout)
    topics = settings.topics
    flags = app.topic(topics.cancer_flags, **RAW)
    dead_letters = app.topic(topics.dead_letter, **RAW)
    table = patients_table(app, layout)
    metrics = ClassifierMetrics()
    attempts = Attempts(settings.data_dir / FAILED_ATTEMPTS_FILE, settings.poison_after_failures)
    stop = StopForReplay(app, attempts)
    classify = ClassifyAgent(
        terms=terms or with_trust_maps(load_terminology(), settings.concept_maps),
        table=table,
        flags=flags,
        dead_letters=dead_letters,
        in_flight=InFlight(on_failure=stop, limit=MAX_PATIENTS_IN_FLIGHT),
        stop=stop,
        attempts=attempts,
        metrics=metrics,
        message_limit=settings.max_message_bytes,
    )
    agent = app.agent(app.topic(topics.clinical_events, **RAW), name="classify")(classify.run)
    Pages(app, settings, metrics).add_to(app)
    return Classifier(app, agent, table, flags, dead_letters, metrics)
