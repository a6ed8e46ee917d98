/**
 * Configuration files: read once at startup, parsed with the one YAML option set, validated against a
 * zod schema, frozen. Every failure is a KitError naming the file, the key and, for text, the line.
 */
import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs';
import type * as z from 'zod/v4/core';
import { KitError } from './errors.ts';
import { validateConfig } from './issues.ts';
import { parseConfigText } from './yaml.ts';

/** Largest configuration file read, bytes. Ours are a few KiB; a policy for 1000 devices ~200 KiB. */
export const DEFAULT_MAX_CONFIG_BYTES = 1024 * 1024;

export interface LoadConfigOptions {
  /** Default {@link DEFAULT_MAX_CONFIG_BYTES}. */
  readonly maxBytes?: number;
}

/** Reads a file's text, refusing anything larger than `maxBytes` before reading it. */
export function readConfigText(path: string, maxBytes = DEFAULT_MAX_CONFIG_BYTES): string {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY);
  } catch (cause) {
    throw new KitError('ERR_KIT_CONFIG_READ', `${path}: cannot read configuration`, { cause, file: path });
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) {
      throw new KitError('ERR_KIT_CONFIG_READ', `${path}: not a regular file`, { file: path });
    }
    if (st.size > maxBytes) {
      throw new KitError(
        'ERR_KIT_CONFIG_TOO_LARGE',
        `${path}: ${st.size} bytes, more than the ${maxBytes} allowed for a configuration`,
        { file: path },
      );
    }
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

/**
 * Parses configuration text (YAML or JSON) and validates it: for callers that read the text
 * themselves (a policy given as a string, a file already checked and read).
 */
export function parseConfig<S extends z.$ZodType>(schema: S, text: string, source = '<config>'): z.output<S> {
  const { value, locate } = parseConfigText(text, source);
  return validateConfig(schema, value, { source, locate });
}

/** Reads, parses, validates and freezes one configuration file (YAML or JSON). */
export function loadConfigFile<S extends z.$ZodType>(
  path: string,
  schema: S,
  options: LoadConfigOptions = {},
): z.output<S> {
  return parseConfig(schema, readConfigText(path, options.maxBytes), path);
}
