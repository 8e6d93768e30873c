// The bearer token Prometheus presents to scrape the control plane's /metrics (nobody else needs it).
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** <data-dir>/prometheus: the managed Prometheus's config, scrape targets, token and storage. */
export function prometheusDir(dataDir: string): string {
  return join(dataDir, 'prometheus');
}

/** Path of the scrape token file (mode 0600), as Prometheus's `bearer_token_file` reads it. */
export function scrapeTokenPath(dataDir: string): string {
  return join(prometheusDir(dataDir), 'scrape.token');
}

/** The scrape token, made on first use: 32 random bytes, hex, in a 0600 file under a 0700 folder. */
export function ensureScrapeToken(dataDir: string): string {
  const dir = prometheusDir(dataDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const path = scrapeTokenPath(dataDir);
  if (!existsSync(path)) writeFileSync(path, randomBytes(32).toString('hex'), { mode: 0o600, flag: 'wx' });
  chmodSync(path, 0o600);
  return readFileSync(path, 'utf8').trim();
}

/** Constant-time comparison of a presented bearer token with the scrape token. */
export function isScrapeToken(presented: string | undefined, token: string): boolean {
  if (!presented) return false;
  const a = Buffer.from(presented);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}
