import { expect } from 'chai';
import type { MessageHeader } from 'node-rdkafka';
import { readOrigin } from '../../../src/dlq/origin.js';

/** Headers as node-rdkafka delivers them: one object per header, values as Buffers. */
const headers = (...pairs: Array<[string, string]>): MessageHeader[] => pairs.map(([k, v]) => ({ [k]: Buffer.from(v) }));
const source = (topic: string, partition: string, offset: string): Array<[string, string]> => [
  ['sluice.source.topic', topic],
  ['sluice.source.partition', partition],
  ['sluice.source.offset', offset],
];
const value = Buffer.from('{"a":1}');

describe('origin of a re-driven dead letter', () => {
  it('is the record its sluice.source.* headers name, among the original record\'s own headers', () => {
    expect(readOrigin({ value, headers: headers(['trace', 'x'], ...source('logs', '3', '1234567890123'), ['sluice.error.stage', 'index']) })).to.deep.equal({
      topic: 'logs',
      partition: 3,
      offset: 1_234_567_890_123,
    });
    // String values (as a producer hands them in) read alike.
    expect(readOrigin({ value, headers: [{ 'sluice.source.topic': 'a' }, { 'sluice.source.partition': '0' }, { 'sluice.source.offset': '0' }] })).to.deep.equal({ topic: 'a', partition: 0, offset: 0 });
  });

  it('takes the last header of a name: Sluice appends its own after the original record\'s', () => {
    expect(readOrigin({ value, headers: headers(...source('copied', '9', '9'), ...source('logs', '1', '5')) })).to.deep.equal({ topic: 'logs', partition: 1, offset: 5 });
  });

  it('names what is missing or wrong', () => {
    expect(readOrigin({ value, headers: undefined })).to.deep.equal({
      problem: 'the dead letter has no sluice.source.topic, sluice.source.partition, sluice.source.offset header: the original record is unknown',
    });
    expect(readOrigin({ value, headers: headers(['sluice.source.topic', 'logs'], ['sluice.source.offset', '1']) })).to.deep.equal({
      problem: 'the dead letter has no sluice.source.partition header: the original record is unknown',
    });
    expect(readOrigin({ value, headers: headers(...source('', '0', '1')) })).to.deep.equal({ problem: "the dead letter's sluice.source.topic header is empty" });
    for (const bad of ['-1', '01', '1.5', ' 1', '2147483648', 'x']) {
      expect(readOrigin({ value, headers: headers(...source('logs', bad, '1')) })).to.deep.equal({
        problem: `the dead letter's sluice.source.partition header is not a partition number (got ${JSON.stringify(bad)})`,
      });
    }
    for (const bad of ['-1', '9007199254740992', '1e3', '']) {
      expect(readOrigin({ value, headers: headers(...source('logs', '0', bad)) })).to.deep.equal({
        problem: `the dead letter's sluice.source.offset header is not an offset (got ${JSON.stringify(bad)})`,
      });
    }
  });

  it('a tombstone and a value cut to fit the dead-letter topic cannot be indexed as the original', () => {
    expect(readOrigin({ value: null, headers: headers(...source('logs', '0', '1')) })).to.deep.equal({
      problem: 'the dead letter is a tombstone (null value): there is no record to index',
    });
    expect(readOrigin({ value, headers: headers(...source('logs', '0', '1'), ['sluice.value.truncated', '5000000']) })).to.deep.equal({
      problem: "the dead letter's value was cut to fit the dead-letter topic (sluice.value.truncated: 5000000 bytes originally): the original record cannot be indexed from it",
    });
  });
});
