import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';

/**
 * oidc-provider's storage, kept in a file for the models a restart must not lose. Its default memory
 * adapter forgets every login session on restart, and the token exchange refuses a subject token
 * whose session is gone: an IdP restart (a crash the supervisor recovers from) logged every agent out.
 * Sessions and grants (and dynamically registered clients) are written through to `file` (0600,
 * under state/idp); short-lived objects (interactions, codes, tokens) stay in memory.
 */
const PERSISTED = new Set(['Session', 'Grant', 'Client', 'RegistrationAccessToken']);

interface Entry {
  readonly payload: Record<string, unknown>;
  /** Epoch milliseconds; absent: no expiry. */
  readonly expiresAt?: number;
}

export interface AdapterInstance {
  upsert(id: string, payload: Record<string, unknown>, expiresIn?: number): Promise<void>;
  find(id: string): Promise<Record<string, unknown> | undefined>;
  findByUid(uid: string): Promise<Record<string, unknown> | undefined>;
  findByUserCode(userCode: string): Promise<Record<string, unknown> | undefined>;
  consume(id: string): Promise<void>;
  destroy(id: string): Promise<void>;
  revokeByGrantId(grantId: string): Promise<void>;
}

export function fileAdapter(file: string): new (model: string) => AdapterInstance {
  const entries = new Map<string, Entry>();
  const live = (e: Entry | undefined) =>
    e !== undefined && (e.expiresAt === undefined || e.expiresAt > Date.now()) ? e : undefined;
  if (existsSync(file)) {
    const saved = JSON.parse(readFileSync(file, 'utf8')) as Record<string, Entry>;
    for (const [k, e] of Object.entries(saved)) if (live(e)) entries.set(k, e);
  }
  const save = () => {
    const out: Record<string, Entry> = {};
    for (const [k, e] of entries) if (PERSISTED.has(k.slice(0, k.indexOf(':'))) && live(e)) out[k] = e;
    // Written whole and renamed: a crash mid-write leaves the previous file, never half of one.
    const tmp = `${file}.tmp`;
    writeFileSync(tmp, JSON.stringify(out), { mode: 0o600 });
    renameSync(tmp, file);
  };
  const persisted = (model: string) => PERSISTED.has(model);

  return class FileAdapter implements AdapterInstance {
    readonly model: string;
    constructor(model: string) {
      this.model = model;
    }
    private key(id: string): string {
      return `${this.model}:${id}`;
    }
    private changed(): void {
      if (persisted(this.model)) save();
    }
    async upsert(id: string, payload: Record<string, unknown>, expiresIn?: number): Promise<void> {
      entries.set(this.key(id), {
        payload,
        ...(typeof expiresIn === 'number' ? { expiresAt: Date.now() + expiresIn * 1000 } : {}),
      });
      this.changed();
    }
    async find(id: string): Promise<Record<string, unknown> | undefined> {
      return live(entries.get(this.key(id)))?.payload;
    }
    async findByUid(uid: string): Promise<Record<string, unknown> | undefined> {
      for (const [k, e] of entries)
        if (k.startsWith(`${this.model}:`) && e.payload['uid'] === uid && live(e)) return e.payload;
      return undefined;
    }
    async findByUserCode(userCode: string): Promise<Record<string, unknown> | undefined> {
      for (const [k, e] of entries)
        if (k.startsWith(`${this.model}:`) && e.payload['userCode'] === userCode && live(e)) return e.payload;
      return undefined;
    }
    async consume(id: string): Promise<void> {
      const e = entries.get(this.key(id));
      if (e !== undefined) e.payload['consumed'] = Math.floor(Date.now() / 1000);
      this.changed();
    }
    async destroy(id: string): Promise<void> {
      entries.delete(this.key(id));
      this.changed();
    }
    async revokeByGrantId(grantId: string): Promise<void> {
      let any = false;
      for (const [k, e] of entries) {
        if (e.payload['grantId'] === grantId) {
          entries.delete(k);
          any = true;
        }
      }
      if (any) save();
    }
  };
}
