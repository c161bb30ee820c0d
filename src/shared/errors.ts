/**
 * Every error Sluice raises on purpose. Each has a fixed `code`, says whether retrying can help
 * (`retriable`), and keeps the underlying `cause`. Callers branch on the class or the code, never on
 * message text.
 */
export class SluiceError extends Error {
  readonly code: string = 'SLUICE_ERROR';
  readonly retriable: boolean = false;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A configuration value is missing or wrong; `path` names the option (`kafka.groupId`). */
export class ConfigError extends SluiceError {
  override readonly code = 'SLUICE_CONFIG';

  constructor(
    readonly path: string,
    message: string,
  ) {
    super(path ? `${path} ${message}` : message);
  }
}

/** Several configuration problems, reported together so the user fixes them in one pass. */
export class ConfigErrors extends SluiceError {
  override readonly code = 'SLUICE_CONFIG';

  constructor(readonly errors: readonly ConfigError[]) {
    super(errors.map((e) => e.message).join('\n'));
  }
}

/**
 * What answers at `elasticsearch.node` is a version Sluice does not speak to (Elasticsearch 6, OpenSearch
 * 1.x), or not Elasticsearch or OpenSearch at all. The message names what answered; the run ends.
 */
export class UnsupportedServerError extends SluiceError {
  override readonly code = 'SLUICE_ES_UNSUPPORTED';
}

/** A Kafka client call failed; `rdkafkaCode` is librdkafka's numeric error code. */
export class KafkaError extends SluiceError {
  override readonly code = 'SLUICE_KAFKA';

  constructor(
    message: string,
    readonly rdkafkaCode: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The user's transform module could not be loaded or does not export `transform`. */
export class TransformLoadError extends SluiceError {
  override readonly code = 'SLUICE_TRANSFORM_LOAD';
}

/**
 * The dead-letter producer closed before Kafka acknowledged a dead letter: the record is not done,
 * its partition's offsets stay before it, and it is read (and dead-lettered) again after restart.
 */
export class DeadLetterClosedError extends SluiceError {
  override readonly code = 'SLUICE_DLQ_CLOSED';
}
