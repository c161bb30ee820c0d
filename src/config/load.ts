import { existsSync, readFileSync } from 'node:fs';
import { dirname, extname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ConfigError, ConfigErrors } from '../common/errors.js';
import type { SluiceConfig } from './schema.js';
import { isPlainObject, leaves, setPath, validateConfig } from './validate.js';

/**
 * Builds the effective configuration, later sources overriding earlier ones:
 * the config file (YAML or JSON), then `SLUICE_*` environment variables, then command-line
 * overrides. Throws `ConfigErrors` naming each bad option.
 */
export function loadConfig(options: {
  file?: string | undefined;
  env?: NodeJS.ProcessEnv;
  overrides?: ReadonlyArray<readonly [path: string, value: string]>;
}): SluiceConfig {
  const raw = options.file ? readConfigFile(options.file) : {};
  for (const [path, value] of envOverrides(options.env ?? process.env)) setPath(raw, path, value);
  for (const [path, value] of options.overrides ?? []) setPath(raw, path, value);
  const config = validateConfig(raw);
  resolveTransformPath(config, options.file);
  return config;
}

export function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigErrors([new ConfigError('', `cannot read config file ${file}: ${(err as Error).message}`)]);
  }
  let parsed: unknown;
  try {
    parsed = extname(file) === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new ConfigErrors([new ConfigError('', `config file ${file} is not valid ${extname(file) === '.json' ? 'JSON' : 'YAML'}: ${(err as Error).message}`)]);
  }
  if (parsed === null || parsed === undefined) return {};
  if (!isPlainObject(parsed)) throw new ConfigErrors([new ConfigError('', `config file ${file} must hold an object at the top level`)]);
  return parsed;
}

/** `kafka.groupId` ↔ `SLUICE_KAFKA_GROUP_ID`. */
export function envName(path: string): string {
  return 'SLUICE_' + path.split('.').map((k) => k.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('_');
}

export function envOverrides(env: NodeJS.ProcessEnv): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const [path] of leaves()) {
    const value = env[envName(path)];
    if (value !== undefined && value !== '') out.push([path, value]);
  }
  return out;
}

/** A transform module path is taken relative to the config file that names it. */
function resolveTransformPath(config: SluiceConfig, file: string | undefined): void {
  const t = config.transform;
  if (t === 'none' || t === 'apm-log' || isAbsolute(t)) return;
  config.transform = resolve(file ? dirname(file) : process.cwd(), t);
  if (!existsSync(config.transform)) {
    throw new ConfigErrors([new ConfigError('transform', `must be none, apm-log or the path of a JS module (no file at ${config.transform})`)]);
  }
}
