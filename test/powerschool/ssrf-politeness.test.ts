import { describe, expect, it } from 'vitest';
import { PowerSchoolClient, PowerSchoolError } from '../../powerschool/client.js';
import { createGuardedLookup, hostProblem, isForbiddenAddress } from '../../powerschool/ssrf.js';
import { clientFor, simulator } from './helpers.js';

const scope = { gradeFrom: 9, gradeTo: 12 };

describe('isForbiddenAddress', () => {
  it.each([
    '127.0.0.1',
    '127.255.0.9',
    '10.1.2.3',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '::1',
    '::',
    'fc00::1',
    'fd12:3456::1',
    'fe80::1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:169.254.169.254',
    '[::1]',
    'not-an-ip',
    '',
    // IPv4-compatible (deprecated ::/96), in dotted and in hex form
    '::127.0.0.1',
    '::7f00:1',
    '::a00:1',
    '::808:808',
    // IPv4-mapped and IPv4-translated in hex, as the URL parser prints them
    '::ffff:a00:1',
    '::ffff:a9fe:a9fe',
    '::ffff:0:7f00:1',
    '0:0:0:0:0:ffff:7f00:1',
    // NAT64, 6to4, Teredo and discard-only prefixes
    '64:ff9b::a00:1',
    '64:ff9b::10.0.0.1',
    '64:ff9b:1::808:808',
    '2002:808:808::1',
    '2002:7f00:1::1',
    '2001:0:4136:e378:8000:63bf:3fff:fdd2',
    '100::1',
    '100::ffff:ffff:ffff:ffff',
    // site-local, AWS metadata over IPv6, a zone id
    'fec0::1',
    'fd00:ec2::254',
    'fe80::1%eth0',
  ])('refuses %s', (ip) => expect(isForbiddenAddress(ip)).toBe(true));

  it.each([
    '8.8.8.8',
    '1.1.1.1',
    '172.32.0.1',
    '192.169.0.1',
    '100.128.0.1',
    '2606:4700:4700::1111',
    '::ffff:8.8.8.8',
    '::ffff:808:808',
    '64:ff9b::808:808',
    '100:0:0:1::1',
    '2003::1',
  ])('allows %s', (ip) => expect(isForbiddenAddress(ip)).toBe(false));

  it.each(['169.254.169.254', '169.254.0.1', '100.100.100.200', 'fe80::1', 'fd00:ec2::254', '::ffff:a9fe:a9fe'])(
    'refuses %s even when insecure addresses are allowed',
    (ip) => expect(isForbiddenAddress(ip, { insecure: true })).toBe(true),
  );

  it.each(['127.0.0.1', '::1', '10.1.2.3', '192.168.1.1', 'fd12::1', '100.64.0.1'])(
    'allows %s when insecure addresses are allowed',
    (ip) => expect(isForbiddenAddress(ip, { insecure: true })).toBe(false),
  );
});

describe('the connect-time lookup', () => {
  const resolve = (insecure: boolean, host: string) =>
    new Promise<string>((done) =>
      createGuardedLookup({ insecure })(host, { family: 4 }, (err, address) => done(err ? err.name : String(address))),
    );
  it('refuses a name resolving to loopback unless insecure addresses are allowed', async () => {
    expect(await resolve(false, 'localhost')).toBe('ForbiddenAddressError');
    expect(await resolve(true, 'localhost')).toBe('127.0.0.1');
  });
});

describe('hostProblem', () => {
  it('refuses cloud metadata names always, localhost names unless insecure', () => {
    for (const host of ['metadata.google.internal', 'METADATA.google.internal.', 'metadata', 'instance-data'])
      for (const insecure of [false, true]) expect(hostProblem(host, { insecure }), host).not.toBeNull();
    expect(hostProblem('localhost')).not.toBeNull();
    expect(hostProblem('api.localhost')).not.toBeNull();
    expect(hostProblem('localhost', { insecure: true })).toBeNull();
    expect(hostProblem('[::7f00:1]')).not.toBeNull();
    expect(hostProblem('district.powerschool.com')).toBeNull();
  });
});

describe('SSRF guard in the client', () => {
  async function refusal(serverUrl: string) {
    const client = new PowerSchoolClient({
      credentials: { serverUrl, clientId: 'a', clientSecret: 'b' },
      maxAttempts: 3,
    });
    const err = await client.countStudents(scope).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PowerSchoolError);
    return err as PowerSchoolError;
  }

  it('refuses http://, a literal loopback IP and a name resolving to loopback, before any request', async () => {
    const sim = await simulator();
    const port = new URL(sim.url).port;
    expect(await refusal(`http://127.0.0.1:${port}`)).toMatchObject({
      code: 'POWERSCHOOL_INSECURE_URL',
      retryable: false,
    });
    expect(await refusal(`https://127.0.0.1:${port}`)).toMatchObject({
      code: 'POWERSCHOOL_INSECURE_URL',
      retryable: false,
    });
    expect(await refusal(`https://[::1]:${port}`)).toMatchObject({
      code: 'POWERSCHOOL_INSECURE_URL',
      retryable: false,
    });
    expect(await refusal(`https://169.254.169.254`)).toMatchObject({ code: 'POWERSCHOOL_INSECURE_URL' });
    // "localhost" is a name: refused at connect time by the guarded DNS lookup.
    const viaName = await refusal(`https://localhost:${port}`);
    expect(viaName).toMatchObject({ code: 'POWERSCHOOL_INSECURE_URL', retryable: false });
    expect(viaName.message).toContain('internal address');
    expect(sim.requestCount()).toBe(0);
  });

  it('allowInsecure lets tests and development reach a local simulator', async () => {
    const sim = await simulator();
    expect(await clientFor(sim, { allowInsecure: true }).countStudents(scope)).toBeGreaterThan(0);
  });

  it('allowInsecure still refuses link-local and cloud metadata addresses and names, before any request', async () => {
    for (const serverUrl of [
      'http://169.254.169.254',
      'https://169.254.169.254',
      'http://[fe80::1]:8080',
      'http://[fd00:ec2::254]',
      'http://[::ffff:a9fe:a9fe]',
      'http://metadata.google.internal',
    ]) {
      const client = new PowerSchoolClient({
        credentials: { serverUrl, clientId: 'a', clientSecret: 'b' },
        allowInsecure: true,
        maxAttempts: 3,
        timeoutMs: 2_000,
      });
      const err = await client.countStudents(scope).catch((e: unknown) => e);
      expect(err, serverUrl).toBeInstanceOf(PowerSchoolError);
      expect(err, serverUrl).toMatchObject({ code: 'POWERSCHOOL_INSECURE_URL', retryable: false });
    }
  });
});

describe('politeness', () => {
  it('one request in flight per school, even across clients', async () => {
    const sim = await simulator({ faults: { latencyMs: 15 } });
    const a = clientFor(sim);
    const b = clientFor(sim);
    await Promise.all([
      ...[1, 2, 3].map(() => a.fetchStudentsAfter(scope, null, 10)),
      ...[4, 5, 6].map(() => b.fetchStudentsAfter(scope, null, 10)),
      a.countStudents(scope),
    ]);
    expect(sim.stats().maxConcurrent).toBe(1);
  });

  it('different schools do not wait for each other', async () => {
    const sim = await simulator({ faults: { latencyMs: 30 } });
    // Same simulator under two server URLs = two schools as far as the client knows.
    const one = clientFor(sim);
    const other = clientFor(sim, {
      credentials: {
        serverUrl: sim.url.replace('127.0.0.1', 'localhost'),
        clientId: sim.clientId,
        clientSecret: sim.clientSecret,
      },
    });
    await Promise.all([
      one.countStudents(scope),
      other.countStudents(scope),
      one.getMaxPageSize(),
      other.getMaxPageSize(),
    ]);
    expect(sim.stats().maxConcurrent).toBe(2);
  });

  it('keeps the minimum interval between request starts', async () => {
    const sim = await simulator();
    const client = clientFor(sim, { minIntervalMs: 60 });
    const started = Date.now();
    await Promise.all([client.countStudents(scope), client.countStudents(scope), client.getMaxPageSize()]);
    // token + 3 data requests = 4 starts, 3 intervals of at least 60 ms
    expect(Date.now() - started).toBeGreaterThanOrEqual(175);
  });
});
