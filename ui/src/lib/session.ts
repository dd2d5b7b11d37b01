// The signed-in token and role, kept in sessionStorage: closing the tab signs out.

const kTokenKey = 'basalt.token';

export type Role = 'admin' | 'analyst' | 'viewer' | 'service';

export function getToken(): string {
  try {
    return sessionStorage.getItem(kTokenKey) ?? '';
  } catch {
    return '';
  }
}

export function setToken(token: string): void {
  sessionStorage.setItem(kTokenKey, token);
}

export function clearToken(): void {
  try {
    sessionStorage.removeItem(kTokenKey);
  } catch {
    // storage unavailable: nothing kept
  }
}

// What a role may do. Admin: everything; analyst: query and save charts/dashboards; viewer: read
// saved charts and dashboards; service: only data APIs (it cannot use the console).
export interface Abilities {
  query: boolean;
  editCharts: boolean;
  operateDags: boolean;
  manageKeys: boolean;
}

export function abilitiesOf(role: Role): Abilities {
  return {
    query: role === 'admin' || role === 'analyst',
    editCharts: role === 'admin' || role === 'analyst',
    operateDags: role === 'admin',
    manageKeys: role === 'admin',
  };
}

export function parseRole(s: unknown): Role | null {
  return s === 'admin' || s === 'analyst' || s === 'viewer' || s === 'service' ? s : null;
}
