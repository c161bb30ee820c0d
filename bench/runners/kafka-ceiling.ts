import { readTopic } from './rdkafka-reader.js';
import { readSpec, runMain, send } from './protocol.js';

/**
 * What Kafka hands to JavaScript on this machine: node-rdkafka consume-only of the bench topic,
 * touching each value's length and nothing else. Reports its count, since it writes nowhere.
 */
runMain(async () => {
  const spec = readSpec();
  let count = 0;
  let bytes = 0;
  const ticker = setInterval(() => send({ type: 'count', count }), 50);
  await readTopic(spec, (messages) => {
    for (const m of messages) bytes += m.value?.length ?? 0;
    count += messages.length;
  });
  clearInterval(ticker);
  send({ type: 'count', count });
  send({ type: 'note', note: `kafka-ceiling read ${(bytes / 1048576).toFixed(1)} MiB of record values` });
});
