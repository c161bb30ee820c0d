/** A partition of a topic. */
export interface TopicPartitionRef {
  topic: string;
  partition: number;
}

/** `topic[partition]`: how log lines and messages name a partition. */
export function formatTp({ topic, partition }: TopicPartitionRef): string {
  return `${topic}[${partition}]`;
}

/** `topic[partition]@offset`: how log lines and messages name a record, or a position in a partition. */
export function formatRecordAt({ topic, partition, offset }: TopicPartitionRef & { offset: number }): string {
  return `${topic}[${partition}]@${offset}`;
}
