import { closeSync, constants, openSync, writeSync } from 'node:fs';
import { CORRELATION_FIELDS, createLogger, type Logger } from '@netward/audit-context';
import { ForceCommandError } from './errors.ts';
import { createSyslogSender, SEVERITY, type SyslogSender, type SyslogTarget } from './syslog.ts';

export interface AuditOptions {
  /** The must-succeed sink. Must exist (created by the installer as root:<group> 0620). */
  readonly file: string;
  readonly syslog?: SyslogTarget | undefined;
  /** Every line also goes here (tests parse it). */
  readonly tee?: (line: string) => void;
}

export interface AuditSink {
  /**
   * Writes one record synchronously to the local file, then hands it to syslog. Throws ERR_FC_AUDIT
   * when the file write fails: the caller must then deny (nothing runs unrecorded).
   */
  record(fields: Record<string, unknown>, msg: string, level?: 'info' | 'warn'): void;
  /** Waits (bounded) for syslog delivery; notes a syslog failure in the file. Never throws. */
  close(): Promise<void>;
}

// The correlation fields, plus the denial code, become RFC 5424 structured-data parameters.
const SYSLOG_PARAMS = [...CORRELATION_FIELDS, 'code'] as const;

// long: one closure over the file descriptor, the logger's captured line and the syslog sender
export function createAuditSink(options: AuditOptions): AuditSink {
  let captured: string | undefined;
  const logger: Logger = createLogger({
    component: 'forcecommand',
    destination: {
      write(line: string) {
        captured = line;
      },
    },
  });
  let fd: number | undefined;
  let syslog: SyslogSender | undefined;

  const writeFile = (line: string) => {
    try {
      // O_APPEND and one write() per record: concurrent validators never interleave inside a record on a
      // local Linux file system (each append holds the inode lock).
      // O_NOFOLLOW: a symlink planted in place of the log is refused. No O_CREAT: the installer creates
      // the file with the right owner; an account-created file would be the account's to rewrite.
      fd ??= openSync(options.file, constants.O_WRONLY | constants.O_APPEND | constants.O_NOFOLLOW);
      const buf = Buffer.from(line);
      const n = writeSync(fd, buf);
      if (n !== buf.length) throw new Error(`short write ${n}/${buf.length}`);
    } catch (e) {
      throw new ForceCommandError('ERR_FC_AUDIT', undefined, { cause: e, detail: { file: options.file } });
    }
  };

  const emit = (fields: Record<string, unknown>, msg: string, level: 'info' | 'warn') => {
    captured = undefined;
    logger[level](fields, msg);
    const line = captured as string | undefined;
    if (line === undefined) throw new ForceCommandError('ERR_FC_AUDIT', 'logger produced no line');
    return line;
  };

  const noteSyslogFailure = (e: Error) => {
    try {
      const line = emit({ event: 'syslog_error', error: e.message }, 'syslog delivery failed', 'warn');
      writeFile(line);
      options.tee?.(line);
    } catch {
      // The file failed too: the record that triggered this already reached the file or denied.
    }
  };

  const toSyslog = (fields: Record<string, unknown>, line: string, level: 'info' | 'warn') => {
    if (options.syslog === undefined) return;
    syslog ??= createSyslogSender(options.syslog, noteSyslogFailure);
    const params: Record<string, string | undefined> = {};
    for (const k of SYSLOG_PARAMS) {
      const v = fields[k];
      if (typeof v === 'string') params[k] = v;
    }
    syslog.send({
      severity: level === 'warn' ? SEVERITY.warning : SEVERITY.info,
      msgId: typeof fields['event'] === 'string' ? fields['event'] : 'audit',
      params,
      msg: line,
    });
  };

  return {
    record(fields, msg, level = 'info') {
      const line = emit(fields, msg, level);
      try {
        writeFile(line);
      } catch (e) {
        // The local file failed, so the caller denies (ERR_FC_AUDIT). The collector still learns what
        // was decided and why it became a refusal: a decision record goes out as that refusal, with the
        // decision the validator had reached kept under `refused`; any other record goes out unchanged
        // with the file error. Without this an unwritable log would make refusals invisible to
        // `netward-audit trace`, the moment they matter most.
        const reason = (e as ForceCommandError).cause;
        const auditError = {
          file: options.file,
          error: (reason as NodeJS.ErrnoException | undefined)?.code ?? String((reason as Error)?.message),
        };
        const fallback =
          fields['event'] === 'decision'
            ? {
                ...fields,
                decision: 'deny',
                stage: 'audit',
                code: 'ERR_FC_AUDIT',
                exit_status: 111,
                refused: { decision: fields['decision'], stage: fields['stage'], code: fields['code'] },
                audit_error: auditError,
              }
            : { ...fields, audit_error: auditError };
        try {
          const text =
            fields['event'] === 'decision' ? `${msg} [audit file unwritable: DENY ERR_FC_AUDIT]` : msg;
          toSyslog(fallback, emit(fallback, text, 'warn'), 'warn');
        } catch {
          // Nothing more to try: the caller denies regardless.
        }
        throw e;
      }
      options.tee?.(line);
      toSyslog(fields, line, level);
    },
    async close() {
      await syslog?.close();
      if (fd !== undefined) {
        try {
          closeSync(fd);
        } catch {}
        fd = undefined;
      }
    },
  };
}
