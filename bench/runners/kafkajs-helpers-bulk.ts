import { Client } from '@elastic/elasticsearch';
import { apmDocument, kafkaId, valueDocument } from './document.js';
import { connectKafkajs } from './kafkajs-consumer.js';
import { readSpec, runMain } from './protocol.js';

/**
 * The usual Node.js design, written as a competent user would: KafkaJS `eachBatch` with one batch in
 * flight per partition, the client's `helpers.bulk` indexing each batch, and the partition's offset
 * committed once its batch is indexed. A dropped document fails the batch, so KafkaJS retries it
 * instead of committing past it. With `--passthrough` each record's parsed value is indexed as it
 * is, as Sluice's `transform: none` does.
 */
runMain(async () => {
  const spec = readSpec();
  const passthrough = process.argv.includes('--passthrough');
  const es = new Client({ node: spec.esNode });
  const { consumer, stopped } = await connectKafkajs(spec);
  let indexed = 0;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));

  await consumer.run({
    partitionsConsumedConcurrently: spec.partitions,
    autoCommit: false,
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
      const { topic, partition } = batch;
      const items = batch.messages.map((m) => ({
        id: kafkaId(topic, partition, m.offset),
        doc: passthrough
          ? valueDocument(m.value ?? Buffer.alloc(0))
          : apmDocument(m.value ?? Buffer.alloc(0), m.key?.toString() ?? null, topic, partition, Number(m.offset), Number(m.timestamp)),
      }));
      const dropped: string[] = [];
      await es.helpers.bulk({
        datasource: items,
        onDocument: ({ id, doc }) => [{ index: { _index: spec.index, _id: id } }, doc],
        onDrop: (d) => dropped.push(`${d.status} ${d.error?.type ?? ''}`),
      });
      if (dropped.length > 0) throw new Error(`${dropped.length} documents dropped, first: ${dropped[0]}`);
      const last = batch.lastOffset();
      resolveOffset(last);
      await consumer.commitOffsets([{ topic, partition, offset: (BigInt(last) + 1n).toString() }]);
      await heartbeat();
      indexed += items.length;
      if (indexed >= spec.expected) done();
    },
  });
  await Promise.race([finished, stopped]);
  await consumer.disconnect();
  await es.close();
});
