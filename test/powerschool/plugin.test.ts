import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ENROLMENT_COLUMNS } from '../../powerschool/enrolments.js';
import { STUDENT_COLUMNS } from '../../powerschool/records.js';
import { SCHOOL_COLUMNS } from '../../powerschool/schools.js';
import { parseXml } from './tiny-xml.js';

const PLUGIN_NS = 'http://plugin.powerschool.pearson.com';
const xml = readFileSync(new URL('../../powerschool/plugin/plugin.xml', import.meta.url), 'utf8');
const root = parseXml(xml);

describe('plugin.xml', () => {
  it('grants exactly the columns the client projects, ViewOnly, on STUDENTS and SCHOOLS', () => {
    const fields = root.children.filter((c) => c.name === 'access_request').flatMap((a) => a.children);
    expect(fields.every((f) => f.name === 'field')).toBe(true);
    expect(new Set(fields.map((f) => f.attributes.table))).toEqual(new Set(['STUDENTS', 'SCHOOLS']));
    expect(fields.map((f) => f.attributes.access)).toEqual(fields.map(() => 'ViewOnly'));
    const granted = (table: string) =>
      fields.filter((f) => f.attributes.table === table).map((f) => f.attributes.field!);
    for (const table of ['STUDENTS', 'SCHOOLS']) {
      expect(granted(table).every((g) => g === g.toUpperCase())).toBe(true);
      expect(new Set(granted(table)).size).toBe(granted(table).length);
    }
    const lower = (table: string) => new Set(granted(table).map((g) => g.toLowerCase()));
    // The departure lookup's projection is part of the student read's grants.
    expect(lower('STUDENTS')).toEqual(new Set([...STUDENT_COLUMNS, ...ENROLMENT_COLUMNS]));
    expect(lower('STUDENTS')).toEqual(new Set(STUDENT_COLUMNS));
    expect(lower('SCHOOLS')).toEqual(new Set(SCHOOL_COLUMNS));
  });

  it('has the root, namespace and attributes the installer requires', () => {
    expect(root.name).toBe('plugin');
    expect(root.namespace).toBe(PLUGIN_NS);
    const { name, version, description } = root.attributes;
    expect(name).toBe('Cialfo PowerSchool Plugin');
    expect(name!.length).toBeLessThanOrEqual(40);
    // A new grant means a new version every school installs.
    expect(version).toBe('2.0');
    expect(version).toMatch(/^[\d.]{1,20}$/);
    expect(description).toBeDefined();
    expect(description!.length).toBeLessThanOrEqual(256);
  });

  it('children: oauth, access_request, publisher in that order, all in the plugin namespace', () => {
    expect(root.children.map((c) => c.name)).toEqual(['oauth', 'access_request', 'publisher']);
    expect(root.children.every((c) => c.namespace === PLUGIN_NS)).toBe(true);
    expect(root.children[0]!.children).toEqual([]);
  });

  it('a publisher with a name and exactly one contact email', () => {
    const publishers = root.children.filter((c) => c.name === 'publisher');
    expect(publishers).toHaveLength(1);
    expect(publishers[0]!.attributes.name).toBe('Cialfo');
    const contacts = publishers[0]!.children.filter((c) => c.name === 'contact');
    expect(contacts).toHaveLength(1);
    expect(contacts[0]!.attributes.email).toMatch(/^[^@\s]+@[^@\s]+\.[a-z]{2,}$/i);
  });

  it('the tiny parser catches malformed XML', () => {
    expect(() => parseXml('<plugin><oauth></plugin>')).toThrow();
    expect(() => parseXml('<a/><b/>')).toThrow();
    expect(() => parseXml('<a x="1" x="2"/>')).toThrow();
    expect(parseXml('<?xml version="1.0"?><!-- c --><p:a xmlns:p="urn:x" k="&amp;"/>')).toMatchObject({
      name: 'a',
      namespace: 'urn:x',
      attributes: { k: '&' },
    });
  });
});
