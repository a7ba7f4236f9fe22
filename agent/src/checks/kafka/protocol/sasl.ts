/** SASL over Kafka (SaslHandshake v1, then SaslAuthenticate v0 rounds): PLAIN and RFC 5802 SCRAM-SHA-256/512. */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { decodeSaslAuthenticate, decodeSaslHandshake, encodeSaslAuthenticate, encodeSaslHandshake, type ApiName, type Reader } from './codec.js';
import { KafkaError, errorName } from './errors.js';

export interface SaslOptions {
  mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512';
  username: string;
  password: string;
}

/** How SASL talks to the broker: one request, its response. */
export type Send = (api: Extract<ApiName, 'SaslHandshake' | 'SaslAuthenticate'>, body: Buffer) => Promise<Reader>;

/** Bytes of the client's client nonce (Kafka's ScramSaslClient also sends 24 random bytes, base64). */
const NONCE_BYTES = 24;

async function saslRound(send: Send, bytes: Buffer): Promise<Buffer> {
  const res = decodeSaslAuthenticate(await send('SaslAuthenticate', encodeSaslAuthenticate(bytes)));
  if (res.errorCode !== KafkaError.NONE) throw new Error(`SASL authentication failed: ${res.message ?? errorName(res.errorCode)}`);
  return res.bytes;
}

/** Authenticates the connection `send` writes to; `address` names the broker in errors. */
export async function authenticate(send: Send, sasl: SaslOptions, address: string): Promise<void> {
  const mech = sasl.mechanism.toUpperCase();
  const hs = decodeSaslHandshake(await send('SaslHandshake', encodeSaslHandshake(mech)));
  if (hs.errorCode === KafkaError.UNSUPPORTED_SASL_MECHANISM) {
    throw new Error(`SASL mechanism ${mech} not enabled on ${address} (enabled: ${hs.enabled.join(' ') || 'none'})`);
  }
  // ILLEGAL_SASL_STATE: a PLAINTEXT or SSL listener answers SaslHandshake with it.
  if (hs.errorCode !== KafkaError.NONE) {
    throw new Error(`SaslHandshake: ${errorName(hs.errorCode)}${hs.errorCode === KafkaError.ILLEGAL_SASL_STATE ? ' (not a SASL listener? sasl is set)' : ''}`);
  }
  if (sasl.mechanism === 'plain') {
    await saslRound(send, Buffer.from(`\0${sasl.username}\0${sasl.password}`, 'utf8'));
    return;
  }
  await scram(send, sasl);
}

/** RFC 5802 SCRAM, as Kafka's ScramSaslClient does it (no channel binding: `c=biws`). */
async function scram(send: Send, sasl: SaslOptions): Promise<void> {
  const algo = sasl.mechanism === 'scram-sha-256' ? 'sha256' : 'sha512';
  const keyLen = algo === 'sha256' ? 32 : 64;
  const user = sasl.username.replace(/=/g, '=3D').replace(/,/g, '=2C');
  const cnonce = randomBytes(NONCE_BYTES).toString('base64');
  const firstBare = `n=${user},r=${cnonce}`;
  const serverFirst = (await saslRound(send, Buffer.from(`n,,${firstBare}`))).toString('utf8');
  const attrs = Object.fromEntries(serverFirst.split(',').map((kv) => [kv[0], kv.slice(2)]));
  const nonce = attrs.r ?? '';
  if (!nonce.startsWith(cnonce) || !attrs.s || !attrs.i) throw new Error('SASL SCRAM: unexpected server-first message');
  const salted = pbkdf2Sync(sasl.password, Buffer.from(attrs.s, 'base64'), Number(attrs.i), keyLen, algo);
  const clientKey = createHmac(algo, salted).update('Client Key').digest();
  const storedKey = createHash(algo).update(clientKey).digest();
  const finalNoProof = `c=biws,r=${nonce}`;
  const authMessage = `${firstBare},${serverFirst},${finalNoProof}`;
  const signature = createHmac(algo, storedKey).update(authMessage).digest();
  const proof = Buffer.from(clientKey.map((b, i) => b ^ signature[i]!));
  const serverFinal = (await saslRound(send, Buffer.from(`${finalNoProof},p=${proof.toString('base64')}`))).toString('utf8');
  const serverKey = createHmac(algo, salted).update('Server Key').digest();
  const expected = createHmac(algo, serverKey).update(authMessage).digest('base64');
  if (serverFinal !== `v=${expected}`) throw new Error('SASL SCRAM: server signature mismatch');
}
