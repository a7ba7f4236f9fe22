/**
 * Certificates for TLS tests from a real CA, made with Debian's openssl: one set per test
 * process, in a temp folder removed at exit. Leaf certificates are signed with `openssl ca`,
 * since Debian 12's OpenSSL 3.0 has no `x509 -not_before/-not_after` and the expired one needs
 * `-startdate/-enddate`. Keys are P-256 (an RSA 2048 key takes ~100 ms to make; P-256 ~5 ms).
 */
import { mkdirSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { run, tempDir } from './proc.js';

export interface TestCert {
  certFile: string;
  keyFile: string;
  /** PKCS12 (key, certificate and its CA) with TestPki.password, alias `imom`, for Java servers. */
  p12File: string;
}

export interface TestPki {
  dir: string;
  /** PEM of the test CA; `otherCaFile` of a second CA that signed nothing the servers show. */
  caFile: string;
  otherCaFile: string;
  /** SAN IP:127.0.0.1, DNS:localhost. */
  server: TestCert;
  /** SAN DNS:wrong.example only. */
  wrongHost: TestCert;
  /** Signed by the CA, valid 2020-01-01 to 2020-02-01. */
  expiredServer: TestCert;
  /** Right names, signed by the other CA. */
  otherCaServer: TestCert;
  /** Client certificates, CN=imom-agent: from the CA, from the other CA, expired, and ending in 3 days. */
  client: TestCert;
  otherClient: TestCert;
  expiredClient: TestCert;
  soonExpiringClient: TestCert;
  /** The PKCS12 password; the test runner fails a run whose output contains it. */
  password: string;
}

/**
 * The runner (scripts/run-tests.mjs) sets IMOM_TEST_PASSWORD for the files it runs and scans
 * their output for it; a file run alone gets this fixed one.
 */
export const TEST_PKI_PASSWORD = process.env.IMOM_TEST_PASSWORD ?? 'imom-test-pki-Zq7w';

/** Days the ordinary certificates are valid: longer than any test run, shorter than a leak is useful. */
const VALID_DAYS = 30;
/** Inside the default expiry_warning (14 days), not yet expired. */
const SOON_DAYS = 3;
const EXPIRED = { start: '20200101000000Z', end: '20200201000000Z' };

const caConfig = (dir: string) => `
[ca]
default_ca = test_ca
[test_ca]
dir = ${dir}
database = ${dir}/index.txt
serial = ${dir}/serial
new_certs_dir = ${dir}/issued
certificate = ${dir}/ca.pem
private_key = ${dir}/ca-key.pem
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
email_in_dn = no
[any]
commonName = supplied
[server]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = \${ENV::IMOM_SAN}
[client]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
`;

const openssl = (dir: string, args: readonly string[], env: NodeJS.ProcessEnv = {}) =>
  run('openssl', args, { cwd: dir, env: { ...process.env, ...env }, timeoutMs: 30_000 });

async function makeCa(root: string, name: string): Promise<string> {
  const dir = join(root, name);
  mkdirSync(join(dir, 'issued'), { recursive: true });
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'serial'), '1000\n');
  writeFileSync(join(dir, 'ca.cnf'), caConfig(dir));
  await openssl(dir, ['req', '-x509', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', 'ca-key.pem', '-out', 'ca.pem', '-days', String(VALID_DAYS), '-subj', `/CN=${name}`,
    '-addext', 'basicConstraints=critical,CA:true', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  return dir;
}

interface Leaf {
  name: string;
  cn: string;
  kind: 'server' | 'client';
  san?: string;
  dates: { days: number } | { start: string; end: string };
}

/** One key and certificate signed by the CA in `caDir` (one at a time: `openssl ca` writes index.txt). */
async function sign(root: string, caDir: string, leaf: Leaf, password: string): Promise<TestCert> {
  const base = join(root, leaf.name);
  const keyFile = `${base}-key.pem`;
  const certFile = `${base}.pem`;
  const p12File = `${base}.p12`;
  await openssl(root, ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile, '-out', `${base}.csr`, '-subj', `/CN=${leaf.cn}`]);
  const dates = 'days' in leaf.dates ? ['-days', String(leaf.dates.days)] : ['-startdate', leaf.dates.start, '-enddate', leaf.dates.end];
  await openssl(root, ['ca', '-batch', '-notext', '-config', join(caDir, 'ca.cnf'), '-extensions', leaf.kind, ...dates, '-in', `${base}.csr`, '-out', certFile], { IMOM_SAN: leaf.san ?? 'DNS:unused.invalid' });
  await openssl(root, ['pkcs12', '-export', '-in', certFile, '-inkey', keyFile, '-certfile', join(caDir, 'ca.pem'), '-name', 'imom', '-out', p12File, '-passout', `pass:${password}`]);
  // As an operator would install a key: not readable by others (loadTls warns otherwise).
  chmodSync(keyFile, 0o600);
  return { certFile, keyFile, p12File };
}

const RIGHT_NAMES = 'IP:127.0.0.1,DNS:localhost';
const CLIENT_CN = 'imom-agent';

async function makePki(): Promise<TestPki> {
  const dir = tempDir('pki');
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const password = TEST_PKI_PASSWORD;
  const [ca, other] = await Promise.all([makeCa(dir, 'imom-test-ca'), makeCa(dir, 'imom-other-ca')]);
  const valid = { days: VALID_DAYS };
  const fromCa = async (leaves: Leaf[]) => {
    const out: TestCert[] = [];
    for (const l of leaves) out.push(await sign(dir, ca, l, password));
    return out;
  };
  const fromOther = async (leaves: Leaf[]) => {
    const out: TestCert[] = [];
    for (const l of leaves) out.push(await sign(dir, other, l, password));
    return out;
  };
  // The two CAs' index files are apart, so each CA signs its own in parallel with the other.
  const [[server, wrongHost, expiredServer, client, expiredClient, soonExpiringClient], [otherCaServer, otherClient]] = await Promise.all([
    fromCa([
      { name: 'server', cn: 'localhost', kind: 'server', san: RIGHT_NAMES, dates: valid },
      { name: 'wrong-host', cn: 'wrong.example', kind: 'server', san: 'DNS:wrong.example', dates: valid },
      { name: 'expired-server', cn: 'localhost', kind: 'server', san: RIGHT_NAMES, dates: EXPIRED },
      { name: 'client', cn: CLIENT_CN, kind: 'client', dates: valid },
      { name: 'expired-client', cn: CLIENT_CN, kind: 'client', dates: EXPIRED },
      { name: 'soon-expiring-client', cn: CLIENT_CN, kind: 'client', dates: { days: SOON_DAYS } },
    ]),
    fromOther([
      { name: 'other-ca-server', cn: 'localhost', kind: 'server', san: RIGHT_NAMES, dates: valid },
      { name: 'other-client', cn: CLIENT_CN, kind: 'client', dates: valid },
    ]),
  ]);
  return {
    dir,
    caFile: join(ca, 'ca.pem'),
    otherCaFile: join(other, 'ca.pem'),
    server: server!,
    wrongHost: wrongHost!,
    expiredServer: expiredServer!,
    otherCaServer: otherCaServer!,
    client: client!,
    otherClient: otherClient!,
    expiredClient: expiredClient!,
    soonExpiringClient: soonExpiringClient!,
    password,
  };
}

let made: Promise<TestPki> | undefined;

/** The process's one test PKI, made on first call (~1 s). */
export function testPki(): Promise<TestPki> {
  made ??= makePki();
  return made;
}

let truststore: Promise<string> | undefined;

/**
 * A PKCS12 truststore (password TestPki.password) trusting the test CA, for Java servers that
 * check client certificates. keytool makes it: Debian 12's OpenSSL 3.0 cannot mark a
 * certificate as trusted for Java (`pkcs12 -jdktrust` came in 3.2). Made once per process.
 */
export function javaTruststore(): Promise<string> {
  truststore ??= (async () => {
    const pki = await testPki();
    const file = join(pki.dir, 'truststore.p12');
    await run('keytool', ['-J-XX:TieredStopAtLevel=1', '-J-XX:+UseSerialGC', '-importcert', '-noprompt', '-alias', 'imom-test-ca', '-file', pki.caFile,
      '-keystore', file, '-storetype', 'PKCS12', '-storepass', pki.password], { timeoutMs: 60_000 });
    return file;
  })();
  return truststore;
}
