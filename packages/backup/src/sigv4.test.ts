import { test } from 'node:test';
import assert from 'node:assert/strict';
import { emptySha256, encodeKey, signRequest, uriEncode } from './sigv4.ts';

// AWS's published example ("Example: GET Object", Signature Calculations for the Authorization
// Header, Amazon S3 API reference).
test('signRequest reproduces the AWS documentation example (GET Object with Range)', () => {
  const h = signRequest({
    method: 'GET',
    url: new URL('https://examplebucket.s3.amazonaws.com/test.txt'),
    headers: { range: 'bytes=0-9' },
    payloadSha256: emptySha256,
    region: 'us-east-1',
    credentials: {
      accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
      secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    },
    now: new Date('2013-05-24T00:00:00Z'),
  });
  assert.equal(
    h.authorization,
    'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, ' +
      'SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, ' +
      'Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
  );
});

// AWS's "Example: GET Bucket Lifecycle" (query string without a value).
test('signRequest signs a query parameter without a value', () => {
  const h = signRequest({
    method: 'GET',
    url: new URL('https://examplebucket.s3.amazonaws.com/?lifecycle='),
    headers: {},
    payloadSha256: emptySha256,
    region: 'us-east-1',
    credentials: {
      accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
      secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    },
    now: new Date('2013-05-24T00:00:00Z'),
  });
  assert.match(
    h.authorization!,
    /Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543$/,
  );
});

test('uriEncode and encodeKey follow RFC 3986 and keep slashes in keys', () => {
  assert.equal(uriEncode("a b!'()*~"), 'a%20b%21%27%28%29%2A~');
  assert.equal(encodeKey('backups/x y/manifest.json'), 'backups/x%20y/manifest.json');
});
