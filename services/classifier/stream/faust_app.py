"""The faust app as the classifier configures it: raw bytes on every topic, acks from all
replicas, the table partitioned like its input topic, and none of faust's own web views."""

from typing import Any

import faust

from services.classifier.settings import ClassifierSettings
from services.classifier.stream.corrections.recovery_watch import RecoveryWatch
from services.classifier.stream.corrections.worker_app import StreamApp
from services.classifier.stream.corrections.worker_consumer import use_worker_consumer
from services.classifier.stream.topic_check import TABLE, TableLayout
from shared.settings import KafkaSettings

RAW: dict[str, Any] = {
    "key_type": bytes,
    "value_type": bytes,
    "key_serializer": "raw",
    "value_serializer": "raw",
}


def broker_credentials(kafka: KafkaSettings) -> faust.types.auth.CredentialsT | None:
    """faust's form of the shared SASL/SSL settings (it does not take aiokafka's options)."""
    options = kafka.aiokafka_options()
    if kafka.security_protocol.startswith("SASL_"):
        return faust.SASLCredentials(
            username=options["sasl_plain_username"],
            password=options["sasl_plain_password"],
            mechanism=options["sasl_mechanism"],
            ssl_context=options.get("ssl_context"),
        )
    if kafka.security_protocol == "SSL":
        return faust.SSLCredentials(options["ssl_context"])
    return None


def faust_app(settings: ClassifierSettings, layout: TableLayout) -> StreamApp:
    """The app with its corrections in place (`corrections/`); `layout` is the input topic's."""
    app = StreamApp(
        settings.app_id,
        broker=settings.kafka.faust_broker_url(),
        broker_client_id=settings.kafka.client_id,
        store=settings.store,
        datadir=str(settings.data_dir),
        topic_partitions=layout.partitions,
        topic_replication_factor=layout.replication_factor,
        broker_credentials=broker_credentials(settings.kafka),
        producer_acks=-1,
        broker_session_timeout=10.0,
        broker_heartbeat_interval=3.0,
        consumer_auto_offset_reset="earliest",
        consumer_max_fetch_size=settings.max_fetch_bytes,
        producer_max_request_size=settings.max_message_bytes,
        web_enabled=True,
        # faust's own views would serve the tables (patients' state) and the router: none served
        web_router_enabled=False,
        web_tables_enabled=False,
        web_stats_enabled=False,
        web_graph_enabled=False,
        web_metrics_enabled=False,
        web_bind=settings.web_host,
        web_port=settings.web_port,
        web_in_thread=False,
        autodiscover=False,
        key_serializer="raw",
        value_serializer="raw",
    )
    app.recovery_watch = RecoveryWatch(settings.recovery_stall_seconds)
    use_worker_consumer(app, settings.fetch_wait_ms)
    return app


def patients_table(app: faust.App, layout: TableLayout) -> Any:
    """The table of patients' stored state, one row per patient key."""
    return app.Table(TABLE, partitions=layout.partitions, key_type=bytes, value_type=bytes)
