import { pathToFileURL } from 'node:url';
import { TransformLoadError } from '../errors.js';
import { createApmLogTransform } from './apm-log.js';
import type { Transform } from './types.js';

/** Resolves `transform`: `none`, `apm-log`, or an absolute path to a module exporting `transform`. */
export async function loadTransform(name: string): Promise<Transform | undefined> {
  if (name === 'none') return undefined;
  if (name === 'apm-log') return createApmLogTransform();
  let mod: { transform?: unknown; default?: { transform?: unknown } };
  try {
    mod = await import(pathToFileURL(name).href);
  } catch (err) {
    throw new TransformLoadError(name, (err as Error).message, { cause: err });
  }
  const fn = mod.transform ?? mod.default?.transform;
  if (typeof fn !== 'function') throw new TransformLoadError(name, undefined);
  return fn as Transform;
}
