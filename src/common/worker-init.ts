import type { SluiceConfig } from '../config/schema.js';
import type { ServerKind } from './protocol.js';

/**
 * What every worker is started with (Piscina `workerData`). Typed from the config, so that an option
 * changed there changes here too, or fails the build.
 */
export interface WorkerInit {
  elasticsearch: Omit<SluiceConfig['elasticsearch'], 'compression'> & {
    /** The search engine that answered `GET /` at startup: picks the media types (`compatHeaders`). */
    server: ServerKind;
  };
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
 * The `workerData` of every worker: the options a worker reads, the server found at startup, and its
 * share of `pipeline.maxInFlightBulks`.
 */
export function workerInit(config: SluiceConfig, server: ServerKind, maxConcurrentBulks: number): WorkerInit {
  return {
    elasticsearch: { ...config.elasticsearch, server: { product: server.product, major: server.major } },
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
