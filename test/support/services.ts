import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('../../../test/services/services.sh', import.meta.url));

/**
 * Stops and starts the local servers from a fault test. Only for the local servers: against
 * servers named by SLUICE_TEST_KAFKA / SLUICE_TEST_ES the fault suite cannot run.
 */
export function services(action: 'up' | 'down' | 'restart', server: 'kafka' | 'elasticsearch', env: NodeJS.ProcessEnv = {}): void {
  execFileSync('bash', [SCRIPT, action, server], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, ...env } });
}

export const localServers = process.env['SLUICE_TEST_KAFKA'] === undefined && process.env['SLUICE_TEST_ES'] === undefined;
