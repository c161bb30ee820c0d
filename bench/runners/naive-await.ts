import { Client } from '@elastic/elasticsearch';
import { apmDocument, kafkaId } from './document.js';
import { connectKafkajs } from './kafkajs-consumer.js';
import { readSpec, runMain } from './protocol.js';

const FLUSH_DOCS = 1000;
const FLUSH_MS = 1000;

/**
 * The design that fell to ~60 docs/min in production: `eachMessage` awaits an enqueue that resolves
 * only once its bulk request is flushed (at 1,000 documents or after 1 s). KafkaJS hands a partition
 * its next message only after the previous `eachMessage` resolved, so the buffer never fills and
 * every record waits for the timer.
 */
runMain(async () => {
  const spec = readSpec();
  const es = new Client({ node: spec.esNode });
  const { consumer, stopped } = await connectKafkajs(spec);
  let pending: Array<{ id: string; doc: Record<string, unknown>; resolve: () => void; reject: (e: unknown) => void }> = [];
  let timer: NodeJS.Timeout | undefined;
  let indexed = 0;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));

  async function flush(): Promise<void> {
    clearTimeout(timer);
    timer = undefined;
    const items = pending;
    pending = [];
    try {
      const res = await es.bulk({ operations: items.flatMap(({ id, doc }) => [{ index: { _index: spec.index, _id: id } }, doc]) });
      if (res.errors) throw new Error('bulk had item errors');
      items.forEach((i) => i.resolve());
      indexed += items.length;
      if (indexed >= spec.expected) done();
    } catch (err) {
      items.forEach((i) => i.reject(err));
    }
  }

  function enqueue(id: string, doc: Record<string, unknown>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      pending.push({ id, doc, resolve, reject });
      if (pending.length >= FLUSH_DOCS) void flush();
      else timer ??= setTimeout(() => void flush(), FLUSH_MS);
    });
  }

  await consumer.run({
    eachMessage: async ({ topic, partition, message: m }) => {
      const doc = apmDocument(m.value ?? Buffer.alloc(0), m.key?.toString() ?? null, topic, partition, Number(m.offset), Number(m.timestamp));
      await enqueue(kafkaId(topic, partition, m.offset), doc);
    },
  });
  await Promise.race([finished, stopped]);
  await consumer.disconnect();
  await es.close();
});
