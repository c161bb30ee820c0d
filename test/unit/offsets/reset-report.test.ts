import { expect } from 'chai';
import pino from 'pino';
import { Writable } from 'node:stream';
import { createResetReport } from '../../../src/offsets/reset-report.js';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

describe('offset reset report', () => {
  it('an assigned partition reset to latest is logged with what was deleted and what is skipped', async () => {
    const { logger, lines } = capture();
    const resets: string[] = [];
    const lagResets: string[] = [];
    const report = createResetReport({
      isAssigned: () => true,
      lags: { reset: (key) => void lagResets.push(key) },
      watermarks: async () => ({ low: 100, high: 250 }),
      onReset: (r) => void resets.push(`${r.topic}[${r.partition}] ${r.to}`),
      logger,
    });
    await report({ topic: 't', partition: 2, offset: 40, to: 'latest' });
    expect(resets).to.deep.equal(['t[2] latest']);
    expect(lagResets).to.have.length(1);
    expect(lines[0]).to.include({ topic: 't', partition: 2, offset: 40, startFrom: 'latest', resumedAt: 250, deleted: 60, skipped: 150, logStart: 100, logEnd: 250 });
  });

  it('a partition no longer assigned is ignored; a failed watermark query still logs the reset', async () => {
    const { logger, lines } = capture();
    let assigned = false;
    const report = createResetReport({
      isAssigned: () => assigned,
      lags: { reset: () => undefined },
      watermarks: async () => {
        throw new Error('timed out');
      },
      logger,
    });
    await report({ topic: 't', partition: 0, offset: 1, to: 'earliest' });
    expect(lines).to.have.length(0);
    assigned = true;
    await report({ topic: 't', partition: 0, offset: 1, to: 'earliest' });
    expect(lines[0]).to.include({ err: 'timed out', startFrom: 'earliest' });
  });
});
