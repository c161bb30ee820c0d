import { expect } from 'chai';
import { parseCommandLine } from '../../../src/cli/args.js';

describe('command line', () => {
  it('a command with flags and --set: overrides in order, flags first', () => {
    expect(parseCommandLine(['run', '-c', 'a.yaml', '--workers', '3', '--set', 'pipeline.batchDocs=2000', '--set', 'index.name=x=y', '--until-caught-up'])).to.deep.equal({
      kind: 'command',
      command: 'run',
      configFile: 'a.yaml',
      overrides: [
        ['pipeline.workers', '3'],
        ['pipeline.batchDocs', '2000'],
        ['index.name', 'x=y'],
      ],
      untilCaughtUp: true,
      progress: false,
    });
  });

  it('redrive is a command of its own, with the flags of run', () => {
    expect(parseCommandLine(['redrive', '--config', 'a.yaml', '--until-caught-up', '--progress'])).to.deep.equal({
      kind: 'command',
      command: 'redrive',
      configFile: 'a.yaml',
      overrides: [],
      untilCaughtUp: true,
      progress: true,
    });
    const help = parseCommandLine(['--help']);
    expect(help.kind === 'exit' && help.stdout).to.match(/^redrive +consumes the dead-letter topic \(errors\.dlqTopic\)/m);
  });

  it('usage problems exit 2 naming what is wrong; --help exits 0 with the usage on stdout', () => {
    const missing = parseCommandLine([]);
    expect(missing).to.include({ kind: 'exit', code: 2 });
    expect(missing.kind === 'exit' && missing.stderr).to.match(/^sluice: expected the command "run", "redrive", "check" or "config"\n/);
    const extra = parseCommandLine(['run', 'now']);
    expect(extra.kind === 'exit' && extra.stderr).to.match(/\(got "run now"\)/);
    const badSet = parseCommandLine(['check', '--set', 'novalue']);
    expect(badSet).to.deep.equal({ kind: 'exit', code: 2, stderr: 'sluice: --set takes path=value (got "novalue")\n' });
    const unknown = parseCommandLine(['run', '--nope']);
    expect(unknown.kind === 'exit' && unknown.code).to.equal(2);
    const help = parseCommandLine(['--help']);
    expect(help.kind === 'exit' && help.code === 0 && help.stdout).to.match(/^Usage: sluice run --config <file>/);
    expect(parseCommandLine(['--version'])).to.deep.equal({ kind: 'version' });
  });
});
