// Who is signed in: the token (sessionStorage) and the role the server gives it.

import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { ApiError, onUnauthorized, request } from './api/client';
import type { WhoAmI } from './api/types';
import { abilitiesOf, clearToken, getToken, parseRole, setToken, type Abilities, type Role } from './lib/session';

interface Session {
  token: string;
  role: Role | null;
  name: string;
  can: Abilities;
  signIn: (token: string) => Promise<void>;
  signOut: () => void;
}

const Ctx = createContext<Session | null>(null);
const kRoleKey = 'basalt.role';
const kNameKey = 'basalt.name';

// Asks the server who a token is. Servers without /api/v1/whoami (before API keys existed) only
// know the admin token: a token that /api/v1/status accepts is then the admin's.
export async function whoAmI(token: string): Promise<WhoAmI> {
  try {
    return await request<WhoAmI>('/api/v1/whoami', { token });
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 404) throw e;
  }
  await request('/api/v1/status', { token });
  return { role: 'admin', name: 'admin token' };
}

export function SessionProvider({ children }: { children: ReactNode }) {
  const [token, setTok] = useState(getToken());
  const [role, setRole] = useState<Role | null>(parseRole(sessionStorage.getItem(kRoleKey)));
  const [name, setName] = useState(sessionStorage.getItem(kNameKey) ?? '');

  const signOut = useCallback(() => {
    clearToken();
    sessionStorage.removeItem(kRoleKey);
    sessionStorage.removeItem(kNameKey);
    setTok('');
    setRole(null);
  }, []);

  useEffect(() => onUnauthorized(signOut), [signOut]);

  const signIn = useCallback(async (t: string) => {
    const who = await whoAmI(t);
    const r = parseRole(who.role);
    if (!r) throw new Error(`The server gave this token an unknown role "${who.role}".`);
    if (r === 'service') throw new Error('A service key can only call data APIs; sign in with an admin, analyst or viewer token.');
    setToken(t);
    sessionStorage.setItem(kRoleKey, r);
    sessionStorage.setItem(kNameKey, who.name ?? '');
    setTok(t);
    setRole(r);
    setName(who.name ?? '');
  }, []);

  const value = useMemo<Session>(
    () => ({ token, role, name, can: abilitiesOf(role ?? 'viewer'), signIn, signOut }),
    [token, role, name, signIn, signOut],
  );
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useSession(): Session {
  const s = useContext(Ctx);
  if (!s) throw new Error('useSession outside SessionProvider');
  return s;
}
