import path from 'node:path';
import type { Config } from '../config/index.js';
import { FsObjectStore } from './fs.js';
import type { ObjectStore } from './object-store.js';
import { S3ObjectStore } from './s3.js';

export { FsObjectStore } from './fs.js';
export * from './object-store.js';
export { S3ObjectStore, type S3StoreOptions } from './s3.js';

/** The embedded store's folder inside the data directory. */
export function objectsDir(dataDir: string): string {
  return path.join(dataDir, 'objects');
}

/**
 * The one place an object store is made: S3 when S3_ENDPOINT is set (config validation
 * guarantees the keys come with it), else the folder `<ANVIL_DATA_DIR>/objects`. Nothing is
 * contacted here; the S3 bucket is created by the first `check()` or use.
 */
export function createObjectStore(
  config: Pick<Config, 'dataDir' | 'S3_ENDPOINT' | 'S3_ACCESS_KEY' | 'S3_SECRET_KEY' | 'S3_BUCKET' | 'S3_REGION'>,
): ObjectStore {
  if (!config.S3_ENDPOINT) return new FsObjectStore(objectsDir(config.dataDir));
  return new S3ObjectStore({
    endpoint: config.S3_ENDPOINT,
    accessKey: config.S3_ACCESS_KEY ?? '',
    secretKey: config.S3_SECRET_KEY ?? '',
    bucket: config.S3_BUCKET,
    region: config.S3_REGION,
  });
}
