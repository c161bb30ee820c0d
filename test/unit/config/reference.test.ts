import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { REFERENCE_END, REFERENCE_START, renderReference, withReference } from '../../../src/config/reference.js';
import { ReferenceMarkersError } from '../../../src/common/errors.js';
import { leaves } from '../../../src/config/validate.js';

describe('configuration reference', () => {
  const readme = readFileSync(new URL('../../../../README.md', import.meta.url), 'utf8');

  it('README.md holds the reference generated from the schema (run `make docs` after changing an option)', () => {
    const start = readme.indexOf(REFERENCE_START) + REFERENCE_START.length;
    const end = readme.indexOf(REFERENCE_END);
    expect(readme.slice(start, end).trim()).to.equal(renderReference());
  });

  it('lists every option once, with its environment variable', () => {
    const table = renderReference();
    for (const [path] of leaves()) expect(table).to.include(`| \`${path}\` |`);
    expect(table).to.include('| `kafka.groupId` | required |');
    expect(table).to.include('`SLUICE_PIPELINE_MAX_BUFFERED_BYTES`');
    expect(table).to.include('| `pipeline.batchBytes` | `4MiB` |');
  });

  it('rewrites only the generated section', () => {
    const text = `# Title\n${REFERENCE_START}\nold\n${REFERENCE_END}\ntail\n`;
    expect(withReference(text)).to.equal(`# Title\n${REFERENCE_START}\n${renderReference()}\n${REFERENCE_END}\ntail\n`);
  });

  it('refuses a text without the markers', () => {
    expect(() => withReference('# Title\n')).to.throw(ReferenceMarkersError, 'README.md has no config-reference markers');
  });
});
