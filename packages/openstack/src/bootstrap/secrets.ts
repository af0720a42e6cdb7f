// The per-cluster values the provider generates once and keeps (in the management API) for every
// node's user data. Randomness comes from node:crypto; the formats are kubeadm's.
import { createHash, randomBytes, X509Certificate } from 'node:crypto';

const tokenAlphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';

function randomFrom(alphabet: string, length: number): string {
  // 252 = 7 * 36: bytes at or above it are dropped so every character is equally likely.
  let out = '';
  while (out.length < length) {
    for (const b of randomBytes(length * 2)) {
      if (b < 252 && out.length < length) out += alphabet[b % alphabet.length];
    }
  }
  return out;
}

/** A kubeadm bootstrap token, `[a-z0-9]{6}.[a-z0-9]{16}`. */
export function newBootstrapToken(): string {
  return `${randomFrom(tokenAlphabet, 6)}.${randomFrom(tokenAlphabet, 16)}`;
}

/** A kubeadm certificate key: hex of a 32-byte AES key. */
export function newCertificateKey(): string {
  return randomBytes(32).toString('hex');
}

/**
 * kubeadm's discovery hash of a CA certificate: `sha256:` + hex SHA-256 of its DER
 * SubjectPublicKeyInfo (what `kubeadm token create --print-join-command` prints).
 */
export function caCertHashOf(certPem: string): string {
  const spki = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' });
  return `sha256:${createHash('sha256').update(spki).digest('hex')}`;
}
