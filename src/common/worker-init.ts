import type { SluiceConfig } from '../config/schema.js';

/**
 * What every worker is started with (Piscina `workerData`). Typed from the config, so that an option
 * changed there changes here too, or fails the build.
 */
export interface WorkerInit {
  elasticsearch: Omit<SluiceConfig['elasticsearch'], 'compression'>;
  index: SluiceConfig['index'];
  inputFormat: SluiceConfig['input']['format'];
  invalidUtf8: SluiceConfig['input']['invalidUtf8'];
  transform: SluiceConfig['transform'];
  onNull: SluiceConfig['errors']['onNull'];
  maxDocBytes: SluiceConfig['pipeline']['maxDocBytes'];
  bulkMaxBytes: SluiceConfig['pipeline']['bulkMaxBytes'];
  /** `elasticsearch.compression`: the content encoding of `_bulk` bodies, applied by the worker that built them. */
  compression: SluiceConfig['elasticsearch']['compression'];
  /** Concurrent `_bulk` requests allowed in this worker. */
  maxConcurrentBulks: number;
  retry: Pick<SluiceConfig['errors'], 'maxRetries' | 'backoffMs' | 'maxBackoffMs'>;
  logLevel: SluiceConfig['log']['level'];
}

/**
 * The `workerData` of every worker: the options a worker reads and its share of
 * `pipeline.maxInFlightBulks`. The server is not known yet: a worker asks it (`GET /`) before any
 * batch, and each batch names it (`BatchTask.server`).
 */
export function workerInit(config: SluiceConfig, maxConcurrentBulks: number): WorkerInit {
  return {
    elasticsearch: config.elasticsearch,
    index: config.index,
    inputFormat: config.input.format,
    invalidUtf8: config.input.invalidUtf8,
    transform: config.transform,
    onNull: config.errors.onNull,
    maxDocBytes: config.pipeline.maxDocBytes,
    bulkMaxBytes: config.pipeline.bulkMaxBytes,
    compression: config.elasticsearch.compression,
    maxConcurrentBulks,
    retry: { maxRetries: config.errors.maxRetries, backoffMs: config.errors.backoffMs, maxBackoffMs: config.errors.maxBackoffMs },
    logLevel: config.log.level,
  };
}
