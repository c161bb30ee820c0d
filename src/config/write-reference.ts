import { readFileSync, writeFileSync } from 'node:fs';
import { withReference } from './reference.js';

// `make docs`: rewrites the configuration reference of the README given as the argument.
const file = process.argv[2] ?? 'README.md';
writeFileSync(file, withReference(readFileSync(file, 'utf8')));
