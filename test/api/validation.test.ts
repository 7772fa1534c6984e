import { describe, expect, it } from 'vitest';
import { checkServerUrl, cronProblem, isIanaTimeZone } from '../../api/validation.js';

describe('cronProblem', () => {
  it.each([
    '0 2 * * *',
    '*/15 * * * *',
    '0 0 1,15 * *',
    '30 6 * JAN-MAR mon-fri',
    '0 0 * * 7',
    '5-10/2 0-23/6 1-31 1-12 0-6',
  ])('accepts %s', (cron) => {
    expect(cronProblem(cron)).toBeNull();
  });

  it.each([
    ['0 2 * *', /5 fields/],
    ['0 2 * * * *', /5 fields/],
    ['60 * * * *', /^minute: values must be 0–59/],
    ['* 24 * * *', /^hour: /],
    ['* * 0 * *', /^day of month: values must be 1–31/],
    ['* * * 13 *', /^month: /],
    ['* * * * 8', /^day of week: /],
    ['* * * FOO *', /^month: /],
    ['10-5 * * * *', /range start after its end/],
    ['*/0 * * * *', /step must be 1–59/],
    ['@daily * * * *', /is not a value, range or step/],
    ['1,,2 * * * *', /is not a value/],
  ])('refuses %s, naming the field', (cron, problem) => {
    expect(cronProblem(cron)).toMatch(problem);
  });

  it('month names count from 1 and day names from 0', () => {
    expect(cronProblem('0 0 * DEC SAT')).toBeNull();
    expect(cronProblem('0 0 * JAN-DEC SUN-SAT')).toBeNull();
  });
});

describe('isIanaTimeZone', () => {
  it.each(['UTC', 'Etc/UTC', 'Asia/Singapore', 'America/Argentina/Buenos_Aires', 'Asia/Calcutta'])(
    'accepts %s',
    (tz) => {
      expect(isIanaTimeZone(tz)).toBe(true);
    },
  );

  it.each(['asia/singapore', 'Asia/singapore', 'Mars/Olympus', '', '+08:00', 'Asia/../etc', 'A'.repeat(65)])(
    'refuses %j',
    (tz) => {
      expect(isIanaTimeZone(tz)).toBe(false);
    },
  );
});

describe('checkServerUrl', () => {
  const strict = { allowInsecure: false };

  it('normalises an origin', () => {
    expect(checkServerUrl('HTTPS://District.PowerSchool.com:443/', strict)).toEqual({
      ok: true,
      origin: 'https://district.powerschool.com',
    });
    expect(checkServerUrl('https://ps.example.org:8443', strict)).toEqual({
      ok: true,
      origin: 'https://ps.example.org:8443',
    });
  });

  it.each([
    ['district.powerschool.com', /absolute URL/],
    ['http://district.powerschool.com', /https/],
    ['ftp://district.powerschool.com', /https/],
    ['https://user:pw@district.powerschool.com', /credentials/],
    ['https://@district.powerschool.com', /credentials/],
    ['https://district.powerschool.com/?', /query or fragment/],
    ['https://district.powerschool.com/#x', /query or fragment/],
    ['https://district.powerschool.com/ws', /origin only/],
    ['https://127.0.0.1', /./],
    ['https://169.254.169.254', /./],
    ['https://localhost', /./],
  ])('refuses %s', (raw, problem) => {
    const result = checkServerUrl(raw, strict);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.message).toMatch(problem);
  });

  it('with insecure URLs allowed: http and loopback pass, link-local and metadata still do not', () => {
    const insecure = { allowInsecure: true };
    expect(checkServerUrl('http://127.0.0.1:8080', insecure)).toEqual({ ok: true, origin: 'http://127.0.0.1:8080' });
    expect(checkServerUrl('http://localhost:3000/', insecure)).toEqual({ ok: true, origin: 'http://localhost:3000' });
    expect(checkServerUrl('http://169.254.169.254', insecure).ok).toBe(false);
    expect(checkServerUrl('http://metadata.google.internal', insecure).ok).toBe(false);
  });
});
