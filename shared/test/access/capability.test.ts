/**
 * Capability tokens: the pure SHA-256 matches node:crypto on random inputs (seeded), the
 * view token is a function of the edit token only, and links round-trip through their
 * fragment.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { sha256 } from '../../src/access/sha256';
import { docLink, isWellFormedToken, parseCapability, tokenFromBytes, tokenHash, viewTokenOf } from '../../src/access/capability';

const seed = Number(process.env.FC_SEED || 7007);

describe('sha256', () => {
  it('matches node:crypto (known vectors and random bytes)', () => {
    expect(Buffer.from(sha256(new Uint8Array())).toString('hex')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(Buffer.from(sha256(new TextEncoder().encode('abc'))).toString('hex')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        expect(Buffer.from(sha256(bytes)).toString('hex')).toBe(createHash('sha256').update(bytes).digest('hex'));
      }),
      { seed, numRuns: 500 },
    );
  });
});

describe('capability tokens', () => {
  it('derive the view token one way, hash with SHA-256, and parse links back (A1)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 48 }), (bytes) => {
        const edit = tokenFromBytes(bytes);
        expect(isWellFormedToken(edit)).toBe(true);
        const view = viewTokenOf(edit);
        expect(isWellFormedToken(view)).toBe(true);
        expect(view).not.toBe(edit);
        expect(viewTokenOf(edit)).toBe(view);
        expect(tokenHash(edit)).toBe(createHash('sha256').update(edit).digest('hex'));
        const link = docLink('http://localhost:8080/', 'abc', 'view', view);
        expect(link).toBe(`http://localhost:8080/d/abc#view=${view}`);
        expect(parseCapability(new URL(link).hash)).toEqual({ role: 'view', token: view });
      }),
      { seed, numRuns: 200 },
    );
  });

  it('refuses short or odd tokens (A2)', () => {
    expect(() => tokenFromBytes(new Uint8Array(15))).toThrow();
    expect(parseCapability('#edit=short')).toBeNull();
    expect(parseCapability('#admin=' + 'a'.repeat(30))).toBeNull();
    expect(parseCapability('#edit=' + 'a'.repeat(30) + '&x=1')).toBeNull();
    expect(parseCapability('')).toBeNull();
  });
});
