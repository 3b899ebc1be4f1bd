import { afterEach, describe, expect, it } from 'vitest';
import type { Tenant, TenantUser } from '../../../core/db/schema.js';
import { UpstreamUnavailableError } from '../../../core/errors.js';
import { findDocumentBySource, listDocuments, safeFilename, storeDocument } from '../../../core/storage/documents.js';
import { parseObjectKey, tenantPrefix } from '../../../core/storage/object-store.js';
import { createInvite, redeemInvite } from '../../../core/tenancy/invites.js';
import { createTenant } from '../../../core/tenancy/tenants.js';
import { type TempDb, tempDb } from '../../helpers/temp-db.js';
import { fsStore, listAll, readAll, type StoreUnderTest, s3Store, sha256 } from './helpers.js';

let t: TempDb | undefined;
let objects: StoreUnderTest | undefined;
afterEach(async () => {
  await objects?.cleanup();
  await t?.cleanup();
  objects = undefined;
  t = undefined;
});

async function setup(): Promise<{ t: TempDb; tenant: Tenant; user: TenantUser }> {
  t = tempDb();
  const tenant = await createTenant(
    t.db,
    t.sealer,
    { name: 'Acme', slug: 'acme', planId: 'starter' },
    { actor: 'test' },
  );
  const invite = await createInvite(t.db, tenant.id, { role: 'member' }, { actor: 'test' });
  const { user } = await redeemInvite(t.db, invite.code, { telegramUserId: 42, displayName: 'Ann' });
  return { t, tenant, user };
}

describe('storeDocument', () => {
  it('writes the object under the tenant, then its documents row', async () => {
    const { t, tenant, user } = await setup();
    objects = fsStore();
    const body = Buffer.from('%PDF-1.7 quarterly');
    const now = Date.UTC(2026, 10, 22, 12);
    const { document: doc, created } = await storeDocument(
      t.db,
      objects.store,
      tenant.id,
      { filename: 'Q3 report.pdf', contentType: 'application/pdf', body, size: body.length, uploadedBy: user.id },
      { now },
    );
    expect(created).toBe(true);
    expect(doc.object_key).toBe(`tenants/${tenant.id}/files/2026-11/${doc.id}-Q3 report.pdf`);
    expect(doc).toMatchObject({
      title: 'Q3 report.pdf',
      mime_type: 'application/pdf',
      size_bytes: body.length,
      sha256: sha256(body),
      status: 'stored',
      uploaded_by: user.id,
    });
    expect(await listDocuments(t.db, tenant.id)).toEqual([doc]);
    expect((await readAll(await objects.store.get(parseObjectKey(doc.object_key)))).equals(body)).toBe(true);
  });

  it('keeps one document per source: a second store of it gives the first row and leaves no object behind', async () => {
    const { t, tenant, user } = await setup();
    objects = fsStore();
    const other = await createTenant(t.db, t.sealer, { name: 'Other', slug: 'other' }, { actor: 'test' });
    const source = 'telegram:6000000001:42:7';
    const store = (tenantId: string, text: string) =>
      storeDocument(t.db, objects!.store, tenantId, {
        filename: 'quote.pdf',
        contentType: 'application/pdf',
        body: Buffer.from(text),
        uploadedBy: tenantId === tenant.id ? user.id : null,
        source,
      });
    const { document: first, created } = await store(tenant.id, 'first delivery');
    expect(created).toBe(true);
    // Only the delivery that stored it is told it was created (it alone hands it on).
    expect(await store(tenant.id, 'second delivery')).toEqual({ document: first, created: false });
    expect((await listAll(objects.store, tenantPrefix(tenant.id))).map((o) => String(o.key))).toEqual([
      first.object_key,
    ]);
    expect(findDocumentBySource(t.db, tenant.id, source)).toEqual(first);
    // The source is per tenant: another tenant's document from the same key is its own.
    const { document: theirs } = await store(other.id, 'their delivery');
    expect(theirs.id).not.toBe(first.id);
    expect(findDocumentBySource(t.db, other.id, source)?.id).toBe(theirs.id);
  });

  it('deletes the object again when the row cannot be written', async () => {
    const { t, tenant, user } = await setup();
    objects = fsStore();
    t.db.sqlite.exec(`CREATE TRIGGER no_docs BEFORE INSERT ON documents BEGIN SELECT RAISE(ABORT, 'disk full'); END`);
    await expect(
      storeDocument(t.db, objects.store, tenant.id, {
        filename: 'a.pdf',
        contentType: 'application/pdf',
        body: Buffer.from('x'),
        uploadedBy: user.id,
      }),
    ).rejects.toThrow(/disk full/);
    expect(await listAll(objects.store, tenantPrefix(tenant.id))).toEqual([]);
    expect(await listDocuments(t.db, tenant.id)).toEqual([]);
  });

  it('writes no row when the object store fails', async () => {
    const { t, tenant, user } = await setup();
    objects = await s3Store({ retryDelayMs: 1 });
    objects.s3!.failNext({ status: 503, code: 'SlowDown' }, { op: 'PutObject', count: 5 });
    await expect(
      storeDocument(t.db, objects.store, tenant.id, {
        filename: 'a.pdf',
        contentType: 'application/pdf',
        body: Buffer.from('x'),
        uploadedBy: user.id,
      }),
    ).rejects.toBeInstanceOf(UpstreamUnavailableError);
    expect(await listDocuments(t.db, tenant.id)).toEqual([]);
  });
});

describe('safeFilename', () => {
  it.each([
    ['report.pdf', 'report.pdf'],
    ['Отчёт за май.docx', 'Отчёт за май.docx'],
    ['../../etc/passwd', 'etc_passwd'],
    ['..\\..\\boot.ini', 'boot.ini'],
    ['.env', 'env'],
    ['a\u0000b\nc.txt', 'a_b_c.txt'],
    ['  spaced   out  .pdf ', 'spaced out .pdf'],
    ['con:fig?.txt', 'con_fig_.txt'],
    ['...', 'file'],
    ['', 'file'],
  ])('%j → %j', (input, expected) => {
    expect(safeFilename(input)).toBe(expected);
  });

  it('shortens long names and keeps the extension', () => {
    const out = safeFilename(`${'a'.repeat(300)}.pdf`);
    expect(out).toBe(`${'a'.repeat(146)}.pdf`);
    const emoji = safeFilename(`${'📄'.repeat(100)}.txt`);
    expect(emoji.endsWith('.txt')).toBe(true);
    expect(Buffer.byteLength(emoji)).toBeLessThanOrEqual(150);
    expect(emoji.startsWith('📄📄')).toBe(true);
  });
});
