import { randomBytes } from 'node:crypto';

/** Time and randomness are injected so that expiry and ids are testable without sleeping. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

export interface IdSource {
  /** A short, unguessable, URL-safe id with a type prefix, e.g. tok_3fK9x2mQa1. */
  next(prefix: string): string;
}

export const randomIds: IdSource = {
  next: (prefix) => `${prefix}_${randomBytes(9).toString('base64url')}`,
};
