#!/usr/bin/env bash
# Creates rmbc's topics on the compose broker (idempotent). Runs in the apache/kafka image;
# topic names come from the same RMBC_TOPIC_* variables the services read.
set -euo pipefail

bootstrap="${KAFKA_BOOTSTRAP_SERVERS:?}"
partitions="${RMBC_TOPIC_PARTITIONS:-12}"
replication="${RMBC_TOPIC_REPLICATION_FACTOR:-1}"

for topic in "${RMBC_TOPIC_CLINICAL_EVENTS:?}" "${RMBC_TOPIC_CANCER_FLAGS:?}" \
             "${RMBC_TOPIC_REGISTRY_RECORDS:?}" "${RMBC_TOPIC_REGISTRY_RECORDS_V2:?}" \
             "${RMBC_TOPIC_ALERTS:?}" "${RMBC_TOPIC_DEAD_LETTER:?}"; do
  /opt/kafka/bin/kafka-topics.sh --bootstrap-server "$bootstrap" --create --if-not-exists \
    --topic "$topic" --partitions "$partitions" --replication-factor "$replication"
done
/opt/kafka/bin/kafka-topics.sh --bootstrap-server "$bootstrap" --list
