import { describe, expect, it } from 'vitest';
import { errorBody, isJsonContentType } from './http-io.js';

describe('isJsonContentType', () => {
  it.each([
    ['application/json', true],
    ['application/json; charset=utf-8', true],
    ['Application/JSON;charset="UTF-8"', true],
    [undefined, false],
    ['', false],
    ['text/plain', false],
    ['application/json-patch+json', false],
    ['application/json; charset=iso-8859-1', false],
    ['application/json; boundary=x', false],
  ])('%s → %s', (header, expected) => {
    expect(isJsonContentType(header)).toBe(expected);
  });
});

describe('errorBody', () => {
  it("is Kubewarden's {message, status}", () => {
    expect(JSON.parse(errorBody(404, 'nope'))).toEqual({ message: 'nope', status: 404 });
  });
});
