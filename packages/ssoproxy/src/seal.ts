// Authenticated encryption of cookie values: AES-256-GCM with keys derived (HKDF-SHA256) from the
// configured secrets. The first secret seals, every secret opens, so a secret can be rotated
// without signing everyone out. The cookie's name is the additional data: a value sealed for one
// cookie (the login state) is refused as another (the session).
import {
  createCipheriv,
  createDecipheriv,
  createSecretKey,
  hkdfSync,
  randomBytes,
  type KeyObject,
} from 'node:crypto';

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Secrets shorter than this are refused: they would be guessable offline from one cookie. */
export const MIN_SECRET_LENGTH = 32;

export class Sealer {
  /** Key objects made once: building one per request showed in the proxy's profile. */
  readonly #keys: KeyObject[];

  constructor(secrets: readonly string[]) {
    if (secrets.length === 0) throw new Error('cookie secrets: at least one is needed');
    this.#keys = secrets.map((s, i) => {
      if (s.length < MIN_SECRET_LENGTH)
        throw new Error(`cookie secrets[${i}]: must be at least ${MIN_SECRET_LENGTH} characters`);
      return createSecretKey(Buffer.from(hkdfSync('sha256', s, 'kaas-sso-proxy', 'cookie-seal-v1', 32)));
    });
  }

  /** `v1.<base64url(iv | ciphertext | tag)>`, bound to `name`. */
  seal(name: string, plaintext: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#keys[0]!, iv);
    cipher.setAAD(Buffer.from(name));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return `${VERSION}.${Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url')}`;
  }

  /** The plaintext, or undefined when the value was not sealed by one of our keys for `name`. */
  open(name: string, sealed: string): string | undefined {
    if (!sealed.startsWith(`${VERSION}.`)) return undefined;
    const raw = Buffer.from(sealed.slice(VERSION.length + 1), 'base64url');
    if (raw.length < IV_BYTES + TAG_BYTES) return undefined;
    const iv = raw.subarray(0, IV_BYTES);
    const tag = raw.subarray(raw.length - TAG_BYTES);
    const body = raw.subarray(IV_BYTES, raw.length - TAG_BYTES);
    for (const key of this.#keys) {
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, iv);
        decipher.setAAD(Buffer.from(name));
        decipher.setAuthTag(tag);
        return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
      } catch {
        // not this key: try the next
      }
    }
    return undefined;
  }
}
