/**
 * The two outcomes every credential check must keep apart: a definite "no" from the identity
 * provider (safe to cache for a while, the user gets 401) and the provider being unreachable or
 * broken (never cached, still fail closed).
 */
export class InvalidCredentialsError extends Error {
  override readonly name = 'InvalidCredentialsError';
}

export class UpstreamError extends Error {
  override readonly name: string = 'UpstreamError';
}
