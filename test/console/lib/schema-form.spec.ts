import { argumentsFrom, fieldsOf } from '../../../console/src/lib/schema-form.js';

const schema = {
  type: 'object',
  properties: {
    text: { type: 'string', description: 'What to say' },
    count: { type: 'integer', default: 3 },
    ratio: { type: 'number' },
    loud: { type: 'boolean', default: true },
    mode: { enum: ['a', 'b', 2] },
    tags: { type: 'array', items: { type: 'string' } },
    note: { type: ['string', 'null'] },
  },
  required: ['text', 'mode'],
};

test('one input per property, typed from the schema, with defaults and required marks', () => {
  expect(fieldsOf(schema)).toEqual([
    { name: 'text', kind: 'string', required: true, description: 'What to say', initial: '' },
    { name: 'count', kind: 'integer', required: false, initial: '3' },
    { name: 'ratio', kind: 'number', required: false, initial: '' },
    { name: 'loud', kind: 'boolean', required: false, initial: true },
    { name: 'mode', kind: 'enum', required: true, choices: ['"a"', '"b"', '2'], initial: '"a"' },
    { name: 'tags', kind: 'json', required: false, initial: '' },
    { name: 'note', kind: 'string', required: false, initial: '' },
  ]);
});

test('values become typed arguments; empty optional fields are left out', () => {
  const fields = fieldsOf(schema);
  expect(argumentsFrom(fields, { text: 'hi', count: '', ratio: '0.5', loud: false, mode: '2', tags: '["x"]', note: '' })).toEqual({
    ok: true,
    args: { text: 'hi', ratio: 0.5, loud: false, mode: 2, tags: ['x'] },
  });
  // Untouched fields take their initial value.
  expect(argumentsFrom(fields, { text: '' + 'x' })).toEqual({ ok: true, args: { text: 'x', count: 3, loud: true, mode: 'a' } });
});

test('what cannot be sent is reported per field', () => {
  const fields = fieldsOf(schema);
  expect(argumentsFrom(fields, { text: '', count: '1.5', ratio: 'abc', mode: '"a"', tags: '[' })).toEqual({
    ok: false,
    errors: { text: 'Required.', count: 'Not a whole number.', ratio: 'Not a number.', tags: 'Not valid JSON.' },
  });
});

test('a hostile schema gives a bounded form: no properties, junk types, thousands of fields, huge texts', () => {
  expect(fieldsOf(null)).toEqual([]);
  expect(fieldsOf({ properties: 'x' })).toEqual([]);
  expect(fieldsOf({ properties: { a: 'nope', b: { type: 42 } } }).map((f) => f.kind)).toEqual(['json', 'json']);
  const many = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`p${i}`, { type: 'string', description: 'd'.repeat(5000) }]));
  const fields = fieldsOf({ properties: many });
  expect(fields).toHaveLength(100);
  expect(fields[0].description).toHaveLength(1000);
});
