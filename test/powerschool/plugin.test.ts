import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { STUDENT_COLUMNS } from '../../powerschool/records.js';
import { parseXml } from './tiny-xml.js';

const PLUGIN_NS = 'http://plugin.powerschool.pearson.com';
const xml = readFileSync(new URL('../../powerschool/plugin/plugin.xml', import.meta.url), 'utf8');
const root = parseXml(xml);

describe('plugin.xml', () => {
  it('grants exactly the columns the client projects, ViewOnly, on STUDENTS', () => {
    const fields = root.children.filter((c) => c.name === 'access_request').flatMap((a) => a.children);
    expect(fields.every((f) => f.name === 'field')).toBe(true);
    expect(fields.map((f) => f.attributes.table)).toEqual(fields.map(() => 'STUDENTS'));
    expect(fields.map((f) => f.attributes.access)).toEqual(fields.map(() => 'ViewOnly'));
    const granted = fields.map((f) => f.attributes.field!);
    expect(granted.every((g) => g === g.toUpperCase())).toBe(true);
    expect(new Set(granted).size).toBe(granted.length);
    expect(new Set(granted.map((g) => g.toLowerCase()))).toEqual(new Set(STUDENT_COLUMNS));
  });

  it('has the root, namespace and attributes the installer requires', () => {
    expect(root.name).toBe('plugin');
    expect(root.namespace).toBe(PLUGIN_NS);
    const { name, version, description } = root.attributes;
    expect(name).toBe('Cialfo PowerSchool Plugin');
    expect(name!.length).toBeLessThanOrEqual(40);
    expect(version).toBe('1.0');
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
