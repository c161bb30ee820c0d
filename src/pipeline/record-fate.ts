import type { Logger } from 'pino';
import type { SluiceConfig } from '../config/schema.js';
import type { KafkaRecord } from '../dispatch/batch.js';
import type { DeadLetterWindow } from '../dlq/breaker.js';
import type { Metrics } from '../observe/metrics.js';
import { DeadLetterBreakerError, RecordError, type SluiceError } from '../common/errors.js';
import { formatRecordAt } from '../common/coordinates.js';
import { failureClass, type RecordFailure } from '../common/protocol.js';
import type { FlowControl } from './flow-control.js';

/** What the fate needs of the dead-letter producer. */
export interface DeadLetterPort {
  readonly topic: string;
  send(record: KafkaRecord, failure: RecordFailure): Promise<void>;
}

export interface RecordFateOptions {
  policy: Pick<SluiceConfig['errors'], 'onMalformed' | 'onRejected'>;
  dlq: DeadLetterPort | undefined;
  /** The dead-letter circuit breaker's window; absent when it is off. */
  breaker: DeadLetterWindow | undefined;
  /** Records with a final outcome so far (indexed, skipped or failed), the failed record included. */
  finished: () => number;
  flow: FlowControl;
  metrics: Pick<Metrics, 'failed' | 'skipped' | 'deadLettered'>;
  logger: Logger;
  /**
   * A record stopped the run for good (policy `fail`, or the breaker tripped) and the run is
   * meant to end rather than wait for an operator (`--until-caught-up`).
   */
  onFatal?: (err: SluiceError, stopReason: string) => void;
}

/**
 * Decides the fate of a record that could not be indexed, by its class and the `errors.*` policy:
 * skipped (`done`), sent to the dead-letter topic (a promise that resolves once Kafka acknowledged
 * it; the partition's offsets wait for it), or held (`block`: its partition stops before it). Also
 * feeds the dead-letter circuit breaker: every record finished since the previous failed one went
 * without a dead letter; the first that would pass `errors.dlqMaxRatio` trips it, and from then
 * on no failed record is dead-lettered.
 */
export function createRecordFate(options: RecordFateOptions) {
  const { policy, dlq, breaker, flow, metrics, logger } = options;
  let deadLettered = 0;
  /** Finished records the breaker's window has seen. */
  let breakerSeen = 0;

  function admitDeadLetter(record: KafkaRecord, cls: 'malformed' | 'rejected' | 'null'): boolean {
    if (flow.tripped !== undefined) return false;
    if (!breaker) return true;
    const finished = options.finished();
    // The failed record itself is counted as finished before its fate is asked for.
    breaker.passed(Math.max(0, finished - 1 - breakerSeen));
    breakerSeen = finished;
    if (cls === 'null') {
      breaker.passed(1);
      return true;
    }
    const wouldBe = breaker.admit();
    if (wouldBe === undefined) return true;
    const tripped = new DeadLetterBreakerError({ failed: wouldBe, window: breaker.size, maxRatio: breaker.maxRatio });
    logger.error(
      { topic: record.topic, partition: record.partition, offset: record.offset, deadLettered: wouldBe, window: breaker.size, maxRatio: breaker.maxRatio },
      'halted: too many records dead-lettered; every partition paused and failed records held until restart',
    );
    flow.trip(tripped.message);
    options.onFatal?.(tripped, 'the dead-letter circuit breaker tripped');
    return false;
  }

  function onFailed(record: KafkaRecord, failure: RecordFailure): 'done' | 'block' | Promise<void> {
    const cls = failureClass(failure.stage);
    metrics.failed(cls);
    const fate = cls === 'null' ? 'dlq' : cls === 'malformed' ? policy.onMalformed : policy.onRejected;
    const where = {
      topic: record.topic,
      partition: record.partition,
      offset: record.offset,
      // A re-driven dead letter: the original record it stands for.
      ...(record.origin !== undefined && 'topic' in record.origin ? { source: formatRecordAt(record.origin) } : {}),
      stage: failure.stage,
      status: failure.status,
      errorType: failure.errorType,
      reason: failure.reason,
    };
    if (fate === 'skip' && cls !== 'null') {
      logger.warn({ ...where, policy: fate }, 'record skipped: it could not be indexed');
      metrics.skipped(cls);
      return 'done';
    }
    if (fate === 'dlq' && dlq) {
      if (!admitDeadLetter(record, cls)) {
        if (flow.block(record, record.offset, flow.tripped ?? 'dead-letter circuit breaker')) {
          logger.warn(where, 'record held by the dead-letter circuit breaker; its partition stops before it until restart');
        }
        return 'block';
      }
      logger.warn({ ...where, dlqTopic: dlq.topic }, 'record sent to the dead-letter topic');
      return dlq.send(record, failure).then(() => {
        deadLettered++;
        metrics.deadLettered(cls);
      });
    }
    logger.error({ ...where, policy: 'fail' }, 'record could not be indexed; its partition stops before it until restart');
    if (flow.block(record, record.offset, failure.reason)) {
      options.onFatal?.(new RecordError({ topic: record.topic, partition: record.partition, offset: record.offset, reason: failure.reason }), 'a record could not be indexed');
    }
    return 'block';
  }

  return {
    onFailed,
    /** Records acknowledged by the dead-letter topic. */
    deadLettered: (): number => deadLettered,
    /** Share of dead letters in the circuit breaker's window (undefined when it is off or empty). */
    deadLetterRatio: (): number | undefined => breaker?.ratio(),
  };
}

export type RecordFate = ReturnType<typeof createRecordFate>;
