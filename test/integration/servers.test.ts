import { expect } from 'chai';
import rdkafka, { type Message } from 'node-rdkafka';
import { es, count, createIndex } from '../support/elasticsearch.js';
import { KAFKA_BROKERS, unique, waitFor } from '../support/env.js';
import { committedOffsets, createTopic, endOffsets, produce } from '../support/kafka.js';

// Proof that the local servers are the real ones: a Kafka broker with partitions, consumer groups
// and committed offsets, and an Elasticsearch node with bulk, search and per-item mapping errors.
describe('real servers', function () {
  this.timeout(120_000);

  it('Kafka: produce to several partitions, consume in a group, commit and read the commits back', async () => {
    const topic = unique('servers');
    const groupId = unique('servers-group');
    await createTopic(topic, 4);
    const perPartition = [5, 7, 3, 9];
    await produce(
      topic,
      perPartition.flatMap((n, partition) => Array.from({ length: n }, (_, i) => ({ partition, key: `k${i}`, value: JSON.stringify({ partition, i }) }))),
    );
    expect(await endOffsets(topic, 4)).to.deep.equal(perPartition);

    const consumer = new rdkafka.KafkaConsumer({ 'metadata.broker.list': KAFKA_BROKERS, 'group.id': groupId, 'enable.auto.commit': false }, { 'auto.offset.reset': 'earliest' });
    await new Promise<void>((resolve, reject) => consumer.connect({}, (err) => (err ? reject(err) : resolve())));
    const seen: Message[] = [];
    try {
      consumer.subscribe([topic]);
      await waitFor('every record consumed', async () => {
        const batch = await new Promise<Message[]>((resolve, reject) => consumer.consume(100, (err, m) => (err ? reject(err) : resolve(m))));
        seen.push(...batch);
        return seen.length >= 24 || undefined;
      });
      const last = new Map<number, number>();
      for (const m of seen) last.set(m.partition, Math.max(last.get(m.partition) ?? -1, m.offset));
      consumer.commitSync([...last].map(([partition, offset]) => ({ topic, partition, offset: offset + 1 })));
    } finally {
      await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
    }
    expect(seen).to.have.length(24);
    expect(JSON.parse((seen.find((m) => m.partition === 3 && m.offset === 8)?.value as Buffer).toString())).to.deep.equal({ partition: 3, i: 8 });
    expect(await committedOffsets(groupId, topic, 4)).to.deep.equal(perPartition);
  });

  it('Elasticsearch: bulk index, refresh, count and search; a mapping error fails only its item', async () => {
    const index = unique('servers');
    await createIndex(index, { n: { type: 'integer' }, msg: { type: 'text' } });
    const info = await es.info();
    expect(info.version.number).to.match(/^8\./);

    const res = await es.bulk({
      operations: [
        { index: { _index: index, _id: 'a' } },
        { n: 1, msg: 'first quick fox' },
        { index: { _index: index, _id: 'b' } },
        { n: 'not a number', msg: 'broken' },
        { index: { _index: index, _id: 'c' } },
        { n: 3, msg: 'third lazy dog' },
      ],
    });
    expect(res.errors).to.equal(true);
    expect(res.items.map((i) => i.index?.status)).to.deep.equal([201, 400, 201]);
    expect(res.items[1]?.index?.error?.type).to.be.oneOf(['document_parsing_exception', 'mapper_parsing_exception']);

    expect(await count(index)).to.equal(2);
    const hits = await es.search({ index, query: { match: { msg: 'fox' } } });
    expect(hits.hits.hits.map((h) => h._id)).to.deep.equal(['a']);
    const health = await es.cluster.health({ wait_for_status: 'yellow', timeout: '10s' });
    expect(health.status).to.be.oneOf(['green', 'yellow']);
  });
});
