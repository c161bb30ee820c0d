/**
 * Imported first by the CLI, before any module that could touch libuv's threadpool: node-rdkafka's
 * consume calls, DNS lookups and file writes share that pool, whose default of 4 threads is too
 * few next to blocking consume calls. libuv sizes the pool at its first use, from this variable.
 * An operator's own setting is kept.
 */
process.env['UV_THREADPOOL_SIZE'] ??= '16';
