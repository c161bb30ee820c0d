import { expect } from 'chai';
import { validateConfig } from '../../../src/config/validate.js';
import { messages, minimal } from './support.js';

const withIndex = (index: Record<string, unknown>) => validateConfig({ ...minimal, index });

describe('configuration: index.pipeline and index.routing', () => {
  it('leaves both unset by default and takes names, field: paths and key', () => {
    expect(validateConfig(minimal).index).to.not.have.any.keys('pipeline', 'pipelineDefault', 'routing', 'routingDefault');
    expect(withIndex({ pipeline: 'logs-enrich', routing: 'key' }).index).to.include({ pipeline: 'logs-enrich', routing: 'key' });
    expect(withIndex({ pipeline: 'field:meta.pipeline', pipelineDefault: 'plain', routing: 'field:tenant.id', routingDefault: 'shared' }).index).to.include({
      pipeline: 'field:meta.pipeline',
      pipelineDefault: 'plain',
      routing: 'field:tenant.id',
      routingDefault: 'shared',
    });
  });

  it('refuses an empty value', () => {
    expect(messages(() => withIndex({ pipeline: ' ' }))).to.deep.equal(['index.pipeline must be a non-empty string']);
    expect(messages(() => withIndex({ routing: '' }))).to.deep.equal(['index.routing must be a non-empty string']);
  });

  it('refuses field: without a path, or with an empty name in it', () => {
    expect(messages(() => withIndex({ pipeline: 'field:' }))).to.deep.equal([
      'index.pipeline is field: without a path; give the document field as field:<dotted path> (got "field:")',
    ]);
    expect(messages(() => withIndex({ routing: 'field:' }))).to.deep.equal([
      'index.routing is field: without a path; give the document field as field:<dotted path> (got "field:")',
    ]);
    expect(messages(() => withIndex({ routing: 'field:a..b' }))).to.deep.equal([
      'index.routing has an empty or blank name in its path field:<dotted path> (got "field:a..b")',
    ]);
  });

  it('refuses pipeline names with whitespace, * or ,', () => {
    for (const name of ['logs enrich', 'logs-*', 'a,b']) {
      expect(messages(() => withIndex({ pipeline: name }))).to.deep.equal([`index.pipeline must be a pipeline name without whitespace, * or , (got ${JSON.stringify(name)})`]);
    }
    expect(messages(() => withIndex({ pipeline: 'field:p', pipelineDefault: 'a b' }))).to.deep.equal([
      'index.pipelineDefault must be a pipeline name without whitespace, * or , (got "a b")',
    ]);
  });

  it('refuses a routing that is neither key nor field:<path>', () => {
    expect(messages(() => withIndex({ routing: 'tenant' }))).to.deep.equal(['index.routing must be key or field:<path> (got "tenant")']);
  });

  it('refuses a default without the option it completes', () => {
    expect(messages(() => withIndex({ pipelineDefault: 'p' }))).to.deep.equal([
      'index.pipelineDefault is set, but index.pipeline is not field:<path> (a fixed pipeline needs no default)',
    ]);
    expect(messages(() => withIndex({ pipeline: 'p', pipelineDefault: 'q' }))).to.deep.equal([
      'index.pipelineDefault is set, but index.pipeline is not field:<path> (a fixed pipeline needs no default)',
    ]);
    expect(messages(() => withIndex({ routingDefault: 'r' }))).to.deep.equal(['index.routingDefault is set, but index.routing is not']);
  });
});
