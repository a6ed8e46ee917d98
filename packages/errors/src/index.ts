/**
 * One error shape for every netward package.
 *
 * Each package declares a catalogue: a frozen table from a stable code (`ERR_<AREA>_<WHAT>`) to what that
 * code means at every boundary the package has (the fixed public message, the HTTP status a service
 * answers with, the exit status a program ends with, the pipeline stage it belongs to). Its error class
 * extends {@link NetwardError} and names the catalogue; everything else (default message, status, exit,
 * the body a client sees) is read from the table, so a code cannot mean two things in two places.
 *
 * Callers branch on `code`, never on the message. A message may name what was wrong, never the hostile
 * value, a token or a key; operator-only facts travel in `detail` or `cause`, which no public rendering
 * includes.
 */

/** One row of a catalogue. */
export interface ErrorSpec {
  /** The fixed text a client may see. Never carries input, tokens, keys. */
  readonly message: string;
  /** The HTTP status a service answers with, for the codes a service can answer. */
  readonly status?: number;
  /** The exit status a program ends with, for the codes a program can end with. */
  readonly exit?: number;
  /** Where in the package's pipeline the code is raised (validator stages, for example). */
  readonly stage?: string;
}

export type Catalogue<C extends string = string> = { readonly [K in C]: ErrorSpec };

const CODE = /^ERR_[A-Z0-9]+(?:_[A-Z0-9]+)+$/;

/**
 * Freezes a catalogue (rows included) after checking that every code is `ERR_<AREA>_<WHAT>` and every
 * row has a message: a typo here would otherwise surface only when the error is raised.
 */
export function defineCatalogue<const T extends Record<string, ErrorSpec>>(rows: T): Readonly<T> {
  for (const [code, spec] of Object.entries(rows)) {
    if (!CODE.test(code)) throw new TypeError(`error catalogue: ${code} is not ERR_<AREA>_<WHAT>`);
    if (typeof spec.message !== 'string' || spec.message.length === 0) {
      throw new TypeError(`error catalogue: ${code} has no message`);
    }
    Object.freeze(spec);
  }
  return Object.freeze(rows);
}

export interface ErrorOptions {
  readonly cause?: unknown;
  /** Operator-only facts for the audit record; never part of a public rendering. */
  readonly detail?: Record<string, unknown>;
}

/** What a class extending NetwardError provides: its catalogue, as a static member. */
export interface ErrorClass<C extends string = string> {
  readonly catalogue: Catalogue<C>;
}

/**
 * The base class. A package's class is three lines:
 *
 *     export class TacacsError extends NetwardError<TacacsErrorCode> {
 *       static readonly catalogue = TACACS_ERRORS;
 *       override readonly name = 'TacacsError';
 *     }
 */
export class NetwardError<C extends string = string> extends Error {
  static readonly catalogue: Catalogue = Object.freeze({});
  override readonly name: string = 'NetwardError';
  readonly code: C;
  readonly detail: Readonly<Record<string, unknown>> | undefined;

  constructor(code: C, message?: string, options?: ErrorOptions) {
    const spec = (new.target as unknown as ErrorClass).catalogue[code];
    super(
      message ?? spec?.message ?? code,
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
    this.code = code;
    this.detail = options?.detail === undefined ? undefined : Object.freeze({ ...options.detail });
  }

  /** This code's row. A code outside the catalogue (a type error elsewhere) reads as an internal one. */
  get spec(): ErrorSpec {
    return (this.constructor as unknown as ErrorClass).catalogue[this.code] ?? { message: 'internal error' };
  }

  /** The HTTP status for this code, 500 when the catalogue gives none. */
  get status(): number {
    return this.spec.status ?? 500;
  }

  /** The process exit status for this code, 1 when the catalogue gives none. */
  get exitStatus(): number {
    return this.spec.exit ?? 1;
  }

  get stage(): string | undefined {
    return this.spec.stage;
  }

  /** The catalogue's fixed message: what a client sees when the raised message may say too much. */
  get publicMessage(): string {
    return this.spec.message;
  }

  /** The public rendering: code and the catalogue's message, nothing from `detail` or `cause`. */
  toJSON(): { code: C; message: string } {
    return { code: this.code, message: this.publicMessage };
  }
}

/** True when `e` is a NetwardError (of `cls`, when given) — across copies of this module too. */
export function isNetwardError<E extends NetwardError>(
  e: unknown,
  cls?: abstract new (...args: never[]) => E,
): e is E {
  if (cls !== undefined) return e instanceof cls;
  return (
    e instanceof NetwardError ||
    (e instanceof Error && typeof (e as { code?: unknown }).code === 'string' && 'publicMessage' in e)
  );
}
