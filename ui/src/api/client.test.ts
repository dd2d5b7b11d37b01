import { describe, expect, it } from 'vitest';
import { describeFailure } from './client';

describe('describeFailure', () => {
  it('puts HTTP failures in plain words with the server message', () => {
    expect(describeFailure(0, '', '/api/v1/status')).toMatch(/Cannot reach the Basalt server/);
    expect(describeFailure(401, 'unknown token', '/api/v1/whoami')).toBe('Your sign-in is not valid any more; sign in again (the server said: unknown token).');
    expect(describeFailure(403, 'viewer may not run queries', '/api/v1/query')).toMatch(/Your role may not do this/);
    expect(describeFailure(400, '"metrics": unknown metric "x"', '/api/v1/query')).toBe('"metrics": unknown metric "x"');
    expect(describeFailure(504, 'timeout after 30 s', '/api/v1/query')).toMatch(/took too long/);
  });
  it('tells a missing API apart from a missing thing', () => {
    expect(describeFailure(404, 'no route for GET /api/v1/models', '/api/v1/models')).toBe(
      'This server does not offer /api/v1/models (the part of Basalt behind it is not in this version).',
    );
    expect(describeFailure(404, "no DAG 'x'", '/api/v1/domino/dags/x')).toBe("Not found (the server said: no DAG 'x').");
  });
});
