import { describeSearchServer } from '../support/search-server.js';

// The optional local Elasticsearch 7.17 node (test/services/elasticsearch7, `services.sh up es7`).
describeSearchServer({
  title: 'Elasticsearch 7.17',
  url: process.env['SLUICE_TEST_ES7'] ?? `http://127.0.0.1:${process.env['SLUICE_ES7_PORT'] ?? '9201'}`,
  product: 'elasticsearch',
  version: '7.17.',
  service: 'es7',
  settingsVar: 'SLUICE_ES7_SETTINGS',
});
