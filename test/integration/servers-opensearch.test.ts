import { describeSearchServer } from '../support/search-server.js';

// The optional local OpenSearch 2.19 node (test/services/opensearch, `services.sh up opensearch`).
describeSearchServer({
  title: 'OpenSearch 2.19',
  url: process.env['SLUICE_TEST_OPENSEARCH'] ?? `http://127.0.0.1:${process.env['SLUICE_OPENSEARCH_PORT'] ?? '9203'}`,
  product: 'opensearch',
  version: '2.19.',
  service: 'opensearch',
  settingsVar: 'SLUICE_OPENSEARCH_SETTINGS',
});
