import { expect } from 'chai';
import { count, es } from '../support/elasticsearch.js';
import { readDeadLetters, type DeadLetter } from '../support/dlq.js';
import { unique } from '../support/env.js';
import { committedOffsets, createTopic, endOffsets, produce, type OutRecord } from '../support/kafka.js';
import { configFile, expectCleanExit, runToEnd, sluiceCommand, startCommand, testConfig, type SluiceProcess } from '../support/sluice.js';

/**
 * `sluice redrive` against the real servers, as an operator runs it: a strict mapping dead-letters
 * some records, the mapping is fixed, the dead-letter topic is re-driven, and the count is checked.
 */
describe('redrive: dead letters indexed again as their original records', function () {
  this.timeout(600_000);

  /** A strict index: a field the mapping does not name fails the document (strict_dynamic_mapping_exception). */
  async function strictIndex(index: string, properties: Record<string, unknown>): Promise<void> {
    await es.indices.create({ index, settings: { number_of_shards: 1, number_of_replicas: 0 }, mappings: { dynamic: 'strict', properties } } as never);
  }

  /** `sluice redrive --until-caught-up`, which must exit 0; `env` for its process (SLUICE_NATIVE=0). */
  async function redriveToEnd(config: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): Promise<SluiceProcess> {
    const p = startCommand('redrive', config, ['--until-caught-up'], env);
    await expectCleanExit(p, 120_000);
    return p;
  }

  /** Every document of the index: id → source. */
  async function documents(index: string): Promise<Map<string, Record<string, unknown>>> {
    await es.indices.refresh({ index });
    const res = await es.search<Record<string, unknown>>({ index, size: 1000, query: { match_all: {} }, version: true });
    return new Map(res.hits.hits.map((h) => [h._id as string, { ...(h._source as Record<string, unknown>), _version: h._version }]));
  }

  it('fix the mapping, re-drive, check the count: every record once, with the id and index of its original; what fails again lands in the second topic naming the original', async () => {
    const topic = unique('rdr');
    const dlqTopic = `${topic}-dlq`;
    const secondTopic = `${topic}-dlq2`;
    const group = unique('g');
    await createTopic(topic, 2);
    await createTopic(dlqTopic, 2);
    await createTopic(secondTopic, 1);
    const properties = { n: { type: 'long' }, amount: { type: 'long' } };
    await strictIndex(`${topic}-p0`, properties);
    await strictIndex(`${topic}-p1`, properties);

    // 40 records, 20 per partition; every fifth from the second has a field the mapping lacks (fixed
    // below), two have an amount no mapping takes (they fail again). Each carries a header of its own
    // and a timestamp of a day long past.
    const stamp = Date.UTC(2026, 0, 15, 8);
    const records: Array<OutRecord & { n: number; offset: number }> = [];
    const seq = [0, 0];
    for (let n = 0; n < 40; n++) {
      const partition = n % 2;
      const doc: Record<string, unknown> = { n, amount: n === 7 || n === 22 ? 'abc' : n };
      if (n % 5 === 1) doc['note'] = `note ${n}`;
      records.push({ partition, key: `k-${n}`, value: JSON.stringify(doc), timestamp: stamp + n, headers: [{ trace: `t-${n}` }], n, offset: seq[partition]!++ });
    }
    await produce(topic, records);
    const notes = records.filter((r) => r.n % 5 === 1);
    const failAgain = records.filter((r) => r.n === 7 || r.n === 22);
    const idOf = (r: { partition: number; offset: number }): string => `${topic}-${r.partition}-${r.offset}`;

    const config = testConfig(topic, group, { index: { name: '{topic}-p{partition}' }, errors: { dlqTopic }, redrive: { deadLetterTopic: secondTopic } });
    const first = await runToEnd(config);
    expect(first.logs('stopped')[0]).to.deep.include({ indexed: 30, failed: 10, deadLettered: 10 });
    const firstIds = new Set([...(await documents(`${topic}-p0`)).keys(), ...(await documents(`${topic}-p1`)).keys()]);
    expect(firstIds.size).to.equal(30);

    // The dead letters keep the original records' timestamps: the re-drive routes dates by them.
    const letters = await readDeadLetters(dlqTopic, 10);
    expect(letters.map((l) => l.timestamp).sort()).to.deep.equal([...notes, ...failAgain].map((r) => r.timestamp).sort());
    // Three dead letters that cannot be re-driven: written by hand without the source headers, a
    // tombstone, and a value cut to fit the topic.
    const source = (n: number): Array<Record<string, string>> => [{ 'sluice.source.topic': topic }, { 'sluice.source.partition': '0' }, { 'sluice.source.offset': String(n) }];
    await produce(dlqTopic, [
      { partition: 0, key: 'hand', value: '{"n":100,"amount":1}', headers: [{ trace: 't-hand' }] },
      { partition: 0, key: 'gone', value: null, headers: source(0) },
      { partition: 0, key: 'cut', value: '{"n":101,"am', headers: [...source(1), { 'sluice.value.truncated': '5000000' }] },
    ]);

    // The fix: the mapping gains the field.
    for (const p of [0, 1]) await es.indices.putMapping({ index: `${topic}-p${p}`, properties: { note: { type: 'keyword' } } } as never);
    const redrive = await redriveToEnd(config);
    expect(redrive.logs('stopped')[0]).to.deep.include({ indexed: 8, failed: 5, deadLettered: 5 });

    // The count: every record but the two that fail again, each once, under its original's id in
    // its original's index; the first run's documents are the same ones.
    const expected = records.filter((r) => !failAgain.includes(r));
    for (const p of [0, 1]) {
      const docs = await documents(`${topic}-p${p}`);
      const want = expected.filter((r) => r.partition === p);
      expect([...docs.keys()].sort(), `index ${topic}-p${p}`).to.deep.equal(want.map(idOf).sort());
      for (const r of want) expect(docs.get(idOf(r))?.['n']).to.equal(r.n);
      for (const r of notes.filter((x) => x.partition === p)) expect(docs.get(idOf(r))?.['note']).to.equal(`note ${r.n}`);
    }
    for (const id of firstIds) expect(expected.map(idOf)).to.include(id);
    expect(await count(`${topic}-*`)).to.equal(38);
    expect(await es.indices.exists({ index: `${dlqTopic}-p0` }), 'an index named after the dead-letter topic').to.equal(false);

    // What failed again: in the second topic, naming the original record, with this failure and the
    // original's own header, each header once; what could not be re-driven, with its reason.
    const again = await readDeadLetters(secondTopic, 5);
    const byKey = new Map(again.map((l) => [l.key, l]));
    expect([...byKey.keys()].sort()).to.deep.equal(['cut', 'gone', 'hand', 'k-22', 'k-7']);
    for (const r of failAgain) {
      const l = byKey.get(r.key as string) as DeadLetter;
      expect(l.headers).to.deep.include({
        trace: `t-${r.n}`,
        'sluice.source.topic': topic,
        'sluice.source.partition': String(r.partition),
        'sluice.source.offset': String(r.offset),
        'sluice.error.class': 'rejected',
        'sluice.error.stage': 'index',
        'sluice.error.type': 'document_parsing_exception',
        'sluice.error.status': '400',
      });
      expect(l.value).to.equal(r.value);
      expect(l.timestamp).to.equal(r.timestamp);
      expect(l.headerNames).to.have.length(new Set(l.headerNames).size, `duplicated headers: ${l.headerNames.join(', ')}`);
    }
    // The log names the original record of each that failed again.
    expect(redrive.logs('record sent to the dead-letter topic').map((l) => l['source']).filter((x) => x !== undefined).sort()).to.deep.equal(
      failAgain.map((r) => `${topic}[${r.partition}]@${r.offset}`).sort(),
    );
    const hand = byKey.get('hand') as DeadLetter;
    expect(hand.headerNames.filter((h) => h.startsWith('sluice.source.'))).to.deep.equal([]);
    expect(hand.headers).to.deep.include({ trace: 't-hand', 'sluice.error.stage': 'redrive', 'sluice.error.class': 'malformed' });
    expect(hand.headers['sluice.error.reason']).to.equal('the dead letter has no sluice.source.topic, sluice.source.partition, sluice.source.offset header: the original record is unknown');
    const gone = byKey.get('gone') as DeadLetter;
    expect(gone.value).to.equal(null);
    expect(gone.headers).to.deep.include({ 'sluice.source.topic': topic, 'sluice.source.offset': '0', 'sluice.error.stage': 'redrive', 'sluice.error.reason': 'the dead letter is a tombstone (null value): there is no record to index' });
    const cut = byKey.get('cut') as DeadLetter;
    expect(cut.headers).to.deep.include({ 'sluice.value.truncated': '5000000', 'sluice.error.stage': 'redrive' });
    expect(cut.headers['sluice.error.reason']).to.match(/^the dead letter's value was cut to fit the dead-letter topic/);
    for (const l of [hand, gone, cut]) expect(l.headerNames).to.have.length(new Set(l.headerNames).size);

    // Offsets: the re-drive's own group is at the end of the dead-letter topic; the main run's is untouched.
    expect(await committedOffsets(`${group}.redrive`, dlqTopic, 2)).to.deep.equal(await endOffsets(dlqTopic, 2));
    expect(await committedOffsets(group, topic, 2)).to.deep.equal([20, 20]);
    // A second re-drive starts where the first stopped: nothing more to do.
    const twice = await redriveToEnd(config);
    expect(twice.logs('stopped')[0]).to.deep.include({ indexed: 0, failed: 0, deadLettered: 0 });
  });

  it('with key ids the last write still wins: a re-driven record older than the document does not overwrite it, a newer one does (JS path)', async () => {
    const topic = unique('rdr-key');
    const dlqTopic = `${topic}-dlq`;
    const secondTopic = `${topic}-dlq2`;
    const group = unique('g');
    await createTopic(topic, 1);
    await createTopic(dlqTopic, 1);
    await createTopic(secondTopic, 1);
    await strictIndex(topic, { v: { type: 'long' } });
    await produce(topic, [
      { partition: 0, key: 'a', value: '{"v":1,"note":"old a"}' },
      { partition: 0, key: 'a', value: '{"v":2}' },
      { partition: 0, key: 'b', value: '{"v":1}' },
      { partition: 0, key: 'b', value: '{"v":2,"note":"new b"}' },
    ]);
    const config = testConfig(topic, group, { index: { idStrategy: 'key' }, errors: { dlqTopic }, redrive: { deadLetterTopic: secondTopic } });
    const first = await runToEnd(config);
    expect(first.logs('stopped')[0]).to.deep.include({ indexed: 2, deadLettered: 2 });

    await es.indices.putMapping({ index: topic, properties: { note: { type: 'keyword' } } } as never);
    const redrive = await redriveToEnd(config, { SLUICE_NATIVE: '0' });
    expect(redrive.output()).to.include('native fast path: off');
    // a@0 meets a@1's document (version 1): a conflict, done; b@3 is newer than b@2's (version 2).
    expect(redrive.logs('stopped')[0]).to.deep.include({ indexed: 2, failed: 0, deadLettered: 0 });
    const docs = await documents(topic);
    expect(Object.fromEntries(docs)).to.deep.equal({ a: { v: 2, _version: 1 }, b: { v: 2, note: 'new b', _version: 3 } });
    expect(await readDeadLetters(secondTopic, 0)).to.deep.equal([]);
  });

  it('sluice check says whether the re-drive\'s dead-letter topic exists', async () => {
    const topic = unique('rdr-check');
    await createTopic(topic, 1);
    await createTopic(`${topic}-dlq`, 1);
    const config = (deadLetterTopic: string) => configFile(testConfig(topic, unique('g'), { errors: { dlqTopic: `${topic}-dlq` }, redrive: { deadLetterTopic } }));
    const missing = await sluiceCommand(['check', '--config', config(`${topic}-dlq2`)]);
    expect(missing.stdout).to.include(
      `warn  re-drive dead-letter topic ${topic}-dlq2: does not exist; Sluice never creates it: create it, or sluice redrive halts at the first record that fails again until it exists\n`,
    );
    await createTopic(`${topic}-dlq2`, 1);
    const there = await sluiceCommand(['check', '--config', config(`${topic}-dlq2`)]);
    expect(there.stdout).to.include(`ok    re-drive dead-letter topic ${topic}-dlq2: exists\n`);
  });

  it('refuses to write what fails again into the topic it reads, naming both options', async () => {
    const topic = unique('rdr-same');
    const file = configFile(testConfig(topic, unique('g'), { errors: { dlqTopic: `${topic}-dlq` }, redrive: { deadLetterTopic: `${topic}-dlq` } }));
    const r = await sluiceCommand(['redrive', '--config', file, '--until-caught-up']);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.equal(
      `sluice: invalid configuration\n  - redrive.deadLetterTopic must differ from errors.dlqTopic (both are "${topic}-dlq"): sluice redrive reads errors.dlqTopic, and records that fail again would land in it and be read again\n`,
    );
  });
});
