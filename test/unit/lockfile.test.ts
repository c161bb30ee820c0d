import { expect } from 'chai';
import { readFileSync } from 'node:fs';

// The npm registry reachable here serves only the Linux builds of platform-specific optional
// packages (msgpackr's native extension), so `npm install` leaves the others out of the lock file,
// and `npm ci` then refuses the lock as "out of sync". The lock keeps an entry (version, os, cpu;
// never fetched on Linux) for every optional dependency so that `npm ci` works on a fresh machine.
describe('package-lock.json', () => {
  it('lists every optional dependency of every locked package', () => {
    const lock = JSON.parse(readFileSync(new URL('../../../package-lock.json', import.meta.url), 'utf8')) as {
      packages: Record<string, { optionalDependencies?: Record<string, string> }>;
    };
    const missing: string[] = [];
    for (const [path, pkg] of Object.entries(lock.packages)) {
      for (const dep of Object.keys(pkg.optionalDependencies ?? {})) {
        if (!(`node_modules/${dep}` in lock.packages) && !(`${path}/node_modules/${dep}` in lock.packages)) missing.push(`${dep} (of ${path})`);
      }
    }
    expect(missing, 'add an entry {version, os, cpu, optional: true} for each, as the others have').to.deep.equal([]);
  });
});
