// The deployment files in docs/ are checked by the tools an operator will use on them.

import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSelfSignedCertificate } from '../../scripts/cert.js';

const NGINX = '/usr/sbin/nginx';

describe('deployment files', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'treff-deploy-docs-'));
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('the systemd unit passes systemd-analyze verify', () => {
    const unit = join(dir, 'treff.service');
    // verify wants the working directory to exist; everything else is checked as written.
    writeFileSync(unit, readFileSync('docs/treff.service', 'utf8').replace('WorkingDirectory=/opt/treff', `WorkingDirectory=${process.cwd()}`));
    const result = spawnSync('systemd-analyze', ['verify', '--man=no', unit], { encoding: 'utf8' });
    const problems = `${result.stdout}${result.stderr}`.split('\n').filter((line) => line.includes('treff.service'));
    expect(problems, result.stderr).toEqual([]);
    expect(result.status, result.stderr).toBe(0);
  });

  it('the nginx site passes nginx -t', () => {
    const certificate = makeSelfSignedCertificate({ dir: join(dir, 'tls'), hosts: ['meet.example.org'] });
    const site = readFileSync('docs/nginx.conf', 'utf8')
      .replace('/etc/letsencrypt/live/meet.example.org/fullchain.pem', certificate.certFile)
      .replace('/etc/letsencrypt/live/meet.example.org/privkey.pem', certificate.keyFile);
    writeFileSync(join(dir, 'site.conf'), site);
    writeFileSync(join(dir, 'nginx.conf'), `pid ${dir}/nginx.pid;\nerror_log ${dir}/error.log;\nevents {}\nhttp {\n  include ${dir}/site.conf;\n}\n`);
    const output = execFileSync(NGINX, ['-t', '-q', '-p', dir, '-c', join(dir, 'nginx.conf')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(output).toBe('');
  });
});
