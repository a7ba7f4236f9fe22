// test-file-timeout: 1200
/**
 * The .rpm, on Debian: rpm inspects it (file list, scriptlets, conffiles, units) against the .deb
 * built in the same run, and installs it with `rpm --root` into a scratch root.
 *
 * Exercised for RHEL: the package's metadata, that it holds the same files, units and scripts as
 * the .deb (so the deb test's runs of them stand for the rpm's), and that rpm unpacks it.
 * Not exercised: a real RHEL host (its glibc, SELinux labels, shadow-utils' useradd, systemd there),
 * the scriptlets under rpm (the scratch root has no /bin/sh or useradd, so it is installed with
 * --noscripts) and upgrade or erase through rpm.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, tempDir, removeDir } from '../harness/proc.js';
import { buildPackages, UNITS, type Built } from './build.js';

const VERSION = '0.1.0';

async function debFiles(deb: string): Promise<string[]> {
  const listing = (await run('sh', ['-c', `dpkg-deb --fsys-tarfile '${deb}' | tar -t`])).stdout;
  return listing.split('\n').filter((l) => l && !l.endsWith('/')).map((l) => l.replace(/^\.\//, '/')).sort();
}

async function rpmQuery(rpm: string, ...args: string[]): Promise<string> {
  return (await run('rpm', ['-qp', ...args, rpm], { timeoutMs: 120_000 })).stdout;
}

describe('the .rpm beside the .deb', () => {
  let work: string;
  let built: Built;

  before(async () => {
    work = tempDir('package-rpm');
    built = await buildPackages(work, VERSION);
  });

  after(() => removeDir(work));

  test('same files, conffiles and units as the .deb; name, version and arch as dnf expects', async () => {
    const rpmFiles = (await rpmQuery(built.rpm, '-l')).split('\n').filter(Boolean).sort();
    const rpmDirs = new Set((await rpmQuery(built.rpm, '--qf', '[%{FILENAMES} %{FILEMODES:perms}\\n]')).split('\n').filter((l) => l.includes(' d')).map((l) => l.split(' ')[0]));
    assert.deepEqual(rpmFiles.filter((f) => !rpmDirs.has(f)), await debFiles(built.deb));
    assert.deepEqual((await rpmQuery(built.rpm, '--configfiles')).split('\n').filter(Boolean).sort(), ['/etc/imom/imom.yaml', '/etc/logrotate.d/imom']);
    assert.equal((await rpmQuery(built.rpm, '--qf', '%{NAME} %{VERSION} %{ARCH} %{LICENSE}')).trim(), `imom ${VERSION} x86_64 Apache-2.0`);
    const conf = (await rpmQuery(built.rpm, '--qf', '[%{FILENAMES} %{FILEUSERNAME}:%{FILEGROUPNAME} %{FILEMODES:octal}\\n]')).split('\n').find((l) => l.startsWith('/etc/imom/imom.yaml '));
    assert.match(conf ?? '', / root:imom 100640$/);
    const deps = await rpmQuery(built.rpm, '--requires');
    assert.match(deps, /^shadow-utils/m);
    assert.match(deps, /^logrotate/m);
    // The units byte for byte: the rpm's recorded digest of each against the .deb's copy.
    const digests = new Map((await rpmQuery(built.rpm, '--qf', '[%{FILENAMES} %{FILEDIGESTS}\\n]')).split('\n').filter(Boolean).map((l) => l.split(' ') as [string, string]));
    for (const unit of UNITS) {
      const inDeb = (await run('sh', ['-c', `dpkg-deb --fsys-tarfile '${built.deb}' | tar -xO './usr/lib/systemd/system/${unit}'`])).stdout;
      assert.ok(inDeb.length > 0);
      assert.equal(digests.get(`/usr/lib/systemd/system/${unit}`), createHash('sha256').update(inDeb).digest('hex'), unit);
    }
  });

  test('the scriptlets are the .deb\'s maintainer scripts, each understanding rpm\'s numeric argument', async () => {
    const scripts = await rpmQuery(built.rpm, '--scripts');
    const extract = await run('sh', ['-c', `d=$(mktemp -d) && dpkg-deb -e '${built.deb}' "$d" && for s in preinst postinst prerm postrm; do echo "== $s"; cat "$d/$s"; done; rm -rf "$d"`]);
    const deb = Object.fromEntries(extract.stdout.split(/^== /m).filter(Boolean).map((b) => [b.slice(0, b.indexOf('\n')), b.slice(b.indexOf('\n') + 1)]));
    for (const [rpmName, debName] of [['preinstall', 'preinst'], ['postinstall', 'postinst'], ['preuninstall', 'prerm'], ['postuninstall', 'postrm']] as const) {
      const m = new RegExp(`^${rpmName} scriptlet \\(using /bin/sh\\):\\n([\\s\\S]*?)(?=^\\w+ scriptlet|(?![\\s\\S]))`, 'm').exec(scripts);
      assert.ok(m, `${rpmName} in the rpm`);
      assert.equal(m[1]!.trim(), deb[debName]!.trim(), `${rpmName} = the deb's ${debName}`);
    }
    // rpm passes 1 (install), 2 (upgrade), 0 (erase): postinst restarts on 2, prerm stops on 0.
    assert.match(deb.postinst!, /^\s*2\) upgrade=yes ;;$/m);
    assert.match(deb.prerm!, /^\s*remove\|0\)$/m);
  });

  test('rpm --root unpacks it into a scratch root', async () => {
    const root = join(work, 'root');
    await run('mkdir', ['-p', root]);
    await run('rpm', ['--root', root, '--initdb']);
    // --nodeps: the scratch root has no rpm database of the base system; --noscripts: no shell, no useradd in it.
    const r = await run('rpm', ['--root', root, '-i', '--nodeps', '--noscripts', '--nosignature', built.rpm], { allowFail: true, timeoutMs: 300_000 });
    assert.equal(r.code, 0, r.stderr);
    for (const p of ['/usr/bin/imom', '/usr/lib/imom/node/bin/node', '/usr/lib/imom/bin/imom.js', '/etc/imom/imom.yaml', '/etc/logrotate.d/imom', '/usr/lib/systemd/system/imom-split@.service', '/usr/share/doc/imom/licenses/INDEX']) {
      assert.ok(existsSync(join(root, p)), p);
    }
    assert.equal((await run('rpm', ['--root', root, '-q', 'imom'])).stdout.trim(), `imom-${VERSION}-1.x86_64`);
    assert.equal((await run('rpm', ['--root', root, '-V', '--nodeps', '--nouser', '--nogroup', 'imom'], { allowFail: true })).stdout.trim(), '', 'every file as packaged');
    // The packaged runtime runs the packaged agent (outside the root: it needs the host's libc).
    const version = await run(join(root, 'usr/lib/imom/node/bin/node'), [join(root, 'usr/lib/imom/bin/imom.js'), '--version']);
    assert.equal(version.stdout.trim(), VERSION);
    assert.match(readFileSync(join(root, 'usr/bin/imom'), 'utf8'), /^exec \/usr\/lib\/imom\/node\/bin\/node --max-semi-space-size=1 --heap-growing-percent=20 \/usr\/lib\/imom\/bin\/imom\.js "\$@"$/m);
  });
});
