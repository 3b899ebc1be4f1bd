import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../core/errors.js';
import {
  parseObjectKey,
  parseObjectPrefix,
  safeContentType,
  tenantKey,
  tenantOfKey,
  tenantPrefix,
} from '../../../core/storage/object-store.js';

describe('tenantKey', () => {
  it('builds tenants/<tenant>/<parts>', () => {
    expect(tenantKey('t1', 'files', '2026-11', 'abc-report.pdf')).toBe('tenants/t1/files/2026-11/abc-report.pdf');
    expect(tenantKey('t1', 'Отчёт за май.pdf')).toBe('tenants/t1/Отчёт за май.pdf');
    expect(tenantPrefix('t1', 'files')).toBe('tenants/t1/files/');
    expect(tenantPrefix('t1')).toBe('tenants/t1/');
  });

  it.each([
    ['a relative step', ['..']],
    ['a relative step inside a name', ['files', '..', 'x']],
    ['a current-dir step', ['.']],
    ['a hidden name', ['.meta']],
    ['an empty part', ['files', '', 'x']],
    ['a slash inside a part', ['a/b']],
    ['a leading slash', ['/etc/passwd']],
    ['a backslash', ['a\\b']],
    ['a NUL byte', ['a\u0000b']],
    ['a newline', ['a\nb']],
    ['a C1 control', ['a\u0085b']],
    ['surrounding white space', [' a']],
    ['an over-long part', ['x'.repeat(201)]],
  ])('refuses %s', (_what, parts) => {
    expect(() => tenantKey('t1', ...parts)).toThrow(ValidationError);
  });

  it('refuses a tenant id that is not one plain part, and a key without a name', () => {
    for (const tenant of ['', '..', 't1/../t2', 'a\\b', '.'])
      expect(() => tenantKey(tenant, 'x')).toThrow(ValidationError);
    expect(() => tenantKey('t1')).toThrow(ValidationError);
    expect(() => tenantPrefix('../t2')).toThrow(ValidationError);
  });

  it('refuses keys longer than S3 allows', () => {
    const part = 'x'.repeat(200);
    expect(() => tenantKey('t1', part, part, part, part, part, part)).toThrow(/1024 bytes/);
  });
});

describe('parseObjectKey / parseObjectPrefix', () => {
  it('accepts what tenantKey builds and names the tenant', () => {
    const key = tenantKey('t1', 'files', 'a.pdf');
    expect(parseObjectKey(key)).toBe(key);
    expect(tenantOfKey(key)).toBe('t1');
    expect(parseObjectPrefix('tenants/t1/files/')).toBe('tenants/t1/files/');
  });

  it.each(['/tenants/t1/x', 'tenants/t1/../t2/x', 'other/t1/x', 'tenants/t1', 'tenants//x', 'tenants/t1/x/', ''])(
    'refuses %j',
    (raw) => {
      expect(() => parseObjectKey(raw)).toThrow(ValidationError);
    },
  );

  it('refuses prefixes without the trailing slash or outside a tenant', () => {
    for (const raw of ['tenants/t1', 'tenants/', 'tenants/../', ''])
      expect(() => parseObjectPrefix(raw)).toThrow(ValidationError);
  });
});

describe('safeContentType', () => {
  it('keeps MIME types and replaces anything that could break a header', () => {
    expect(safeContentType('application/pdf')).toBe('application/pdf');
    expect(safeContentType('text/plain; charset=utf-8')).toBe('text/plain; charset=utf-8');
    expect(safeContentType('application/vnd.openxmlformats-officedocument.wordprocessingml.document')).toBe(
      'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
    );
    expect(safeContentType('text/html\r\nSet-Cookie: x=1')).toBe('application/octet-stream');
    expect(safeContentType(undefined)).toBe('application/octet-stream');
    expect(safeContentType('pdf')).toBe('application/octet-stream');
  });
});
