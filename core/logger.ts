import { type Logger, pino } from 'pino';

export type { Logger } from 'pino';

/** The root logger of one service: JSON lines on stdout, secrets redacted. */
export function createLogger(service: string, level = 'info'): Logger {
  return pino({
    level,
    base: { service },
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', '*.token', '*.password', '*.secret'],
      censor: '[redacted]',
    },
  });
}
