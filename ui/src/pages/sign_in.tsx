import { useState, type FormEvent } from 'react';
import { useNavigate, useSearchParams } from 'react-router';
import { useSession } from '../auth';
import { ErrorBox } from '../components/common';

export function SignInPage() {
  const { signIn } = useSession();
  const [token, setToken] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const navigate = useNavigate();
  const [params] = useSearchParams();

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!token.trim()) {
      setError(new Error('Enter a token.'));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await signIn(token.trim());
      const next = params.get('next');
      navigate(next && next.startsWith('/') && !next.startsWith('//') ? next : '/', { replace: true });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="sign-in">
      <form onSubmit={submit} aria-label="Sign in">
        <h1>
          <img src="/favicon.svg" alt="" width={28} height={28} /> Basalt console
        </h1>
        <label htmlFor="token">Token</label>
        <input
          id="token"
          type="password"
          autoComplete="current-password"
          autoFocus
          value={token}
          onChange={(e) => setToken(e.target.value)}
          placeholder="admin, analyst or viewer token"
        />
        <p className="hint">
          An API key (<code>basalt keys create</code>) or the admin token; <code>make run</code> prints the demo's.
          The token is kept in this tab only.
        </p>
        <ErrorBox error={error} />
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </div>
  );
}
