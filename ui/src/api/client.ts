// The one way pages talk to basalt: fetch with the session's bearer token, JSON in and out, and
// every failure turned into an ApiError whose message a person can read.

import { clearToken, getToken } from '../lib/session';

export class ApiError extends Error {
  readonly status: number;
  readonly detail: string;
  constructor(status: number, detail: string, message: string) {
    super(message);
    this.status = status;
    this.detail = detail;
  }
}

// Turns an HTTP status and the server's own message into plain words.
export function describeFailure(status: number, detail: string, path: string): string {
  const said = detail ? ` (the server said: ${detail})` : '';
  if (status === 0) return `Cannot reach the Basalt server${said}. Is \`basalt up\` running?`;
  if (status === 401) return `Your sign-in is not valid any more; sign in again${said}.`;
  if (status === 403) return `Your role may not do this${said}.`;
  if (status === 404 && (detail === '' || detail.startsWith('no route for')))
    return `This server does not offer ${path.split('?')[0]} (the part of Basalt behind it is not in this version).`;
  if (status === 404) return `Not found${said}.`;
  if (status === 408 || status === 504) return `The server took too long${said}. Try a smaller range.`;
  if (status === 413) return `The request or its result is too large${said}.`;
  if (status === 429) return `Too many requests; wait a moment and try again${said}.`;
  if (status >= 500) return `The server failed${said}.`;
  return detail || `The request failed with HTTP ${status}.`;
}

type Listener = () => void;
const unauthorizedListeners = new Set<Listener>();
// Called when a request answers 401: the session's token is no good.
export function onUnauthorized(l: Listener): () => void {
  unauthorizedListeners.add(l);
  return () => unauthorizedListeners.delete(l);
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  signal?: AbortSignal;
  token?: string; // overrides the session's (sign-in checks a token before keeping it)
  accept?: 'json' | 'text';
}

async function errorDetail(res: Response): Promise<string> {
  const text = await res.text().catch(() => '');
  try {
    const j = JSON.parse(text) as { error?: unknown; message?: unknown };
    if (typeof j.error === 'string') return j.error;
    if (typeof j.message === 'string') return j.message;
  } catch {
    // not JSON: use the text itself
  }
  return text.slice(0, 300);
}

export async function request<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const token = options.token ?? getToken();
  const headers: Record<string, string> = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(path, {
      method: options.method ?? (options.body === undefined ? 'GET' : 'POST'),
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
    });
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') throw e;
    throw new ApiError(0, String(e), describeFailure(0, '', path));
  }
  if (!res.ok) {
    const detail = await errorDetail(res);
    if (res.status === 401 && options.token === undefined) {
      clearToken();
      unauthorizedListeners.forEach((l) => l());
    }
    throw new ApiError(res.status, detail, describeFailure(res.status, detail, path));
  }
  if (options.accept === 'text') return (await res.text()) as T;
  const text = await res.text();
  if (text === '') return undefined as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ApiError(res.status, text.slice(0, 200), 'The server answered with something that is not JSON.');
  }
}

export const get = <T>(path: string, signal?: AbortSignal) => request<T>(path, { signal });
export const post = <T>(path: string, body: unknown = {}) => request<T>(path, { method: 'POST', body });
export const put = <T>(path: string, body: unknown) => request<T>(path, { method: 'PUT', body });
export const del = <T>(path: string) => request<T>(path, { method: 'DELETE' });

export function errorText(e: unknown): string {
  if (e instanceof ApiError) return e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}
