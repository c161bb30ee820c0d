import { describeSearchServer } from '../support/search-server.js';

// The optional local Elasticsearch 9.x node (test/services/elasticsearch9, `services.sh up es9`).
describeSearchServer({
  title: 'Elasticsearch 9',
  url: process.env['SLUICE_TEST_ES9'] ?? `http://127.0.0.1:${process.env['SLUICE_ES9_PORT'] ?? '9202'}`,
  product: 'elasticsearch',
  version: '9.',
  service: 'es9',
  settingsVar: 'SLUICE_ES9_SETTINGS',
});
