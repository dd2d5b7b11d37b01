import { describe, expect, it } from 'vitest';
import { specsOf } from './data_apis';

describe('specsOf', () => {
  it('lists the GET operations of the OpenAPI document with typed, bounded parameters', () => {
    const doc = {
      openapi: '3.0.3',
      paths: {
        '/data/v1/revenue_by_day': {
          get: {
            summary: 'Revenue per day',
            parameters: [
              { name: 'days', in: 'query', required: true, schema: { type: 'integer', minimum: 1, maximum: 90 } },
              { name: 'channel', in: 'query', schema: { type: 'string' }, description: 'acquisition channel' },
            ],
          },
        },
        '/data/v1/dau': { get: {} },
        '/data/v1/odd': { post: {} },
      },
    };
    expect(specsOf(doc)).toEqual([
      { name: 'dau', path: '/data/v1/dau', description: '', params: [] },
      {
        name: 'revenue_by_day',
        path: '/data/v1/revenue_by_day',
        description: 'Revenue per day',
        params: [
          { name: 'days', type: 'integer', required: true, description: '', min: 1, max: 90 },
          { name: 'channel', type: 'string', required: false, description: 'acquisition channel', min: undefined, max: undefined },
        ],
      },
    ]);
    expect(specsOf(null)).toEqual([]);
  });
});
