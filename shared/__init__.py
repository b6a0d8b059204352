"""The event contract shared by the rmbc services: models, topic names, Kafka settings, codec."""
