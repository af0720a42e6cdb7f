// The shell: the session (or a trip to the login page), the header with the login command and
// sign-out, and the route → view switch.
import { useEffect, useState } from 'react';
import { loadSession, loginUrl, logout, type SessionInfo } from './api.ts';
import { ErrorBox, Link } from './components.tsx';
import { useRoute, useServerInfo } from './hooks.ts';
import { ClusterPage } from './views/ClusterPage.tsx';
import { CreateCluster } from './views/CreateCluster.tsx';
import { Fleet } from './views/Fleet.tsx';

export function App() {
  const [session, setSession] = useState<SessionInfo | null>();
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    loadSession().then(
      (s) => (s ? setSession(s) : location.assign(loginUrl())),
      (e: unknown) => setError(e),
    );
  }, []);
  // the session ends at expiresAt: go back to the login page then, with the current path
  useEffect(() => {
    if (!session) return;
    const ms = Date.parse(session.expiresAt) - Date.now();
    if (!(ms > 0)) return;
    const t = setTimeout(() => location.assign(loginUrl()), Math.min(ms, 2 ** 31 - 1));
    return () => clearTimeout(t);
  }, [session]);

  if (error !== undefined)
    return (
      <main id="main">
        <ErrorBox error={error} />
      </main>
    );
  if (!session)
    return (
      <main id="main">
        <p className="muted">Signing in…</p>
      </main>
    );
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <Header session={session} />
      <main id="main" tabIndex={-1}>
        <Routes />
      </main>
    </>
  );
}

function Header({ session }: { session: SessionInfo }) {
  const info = useServerInfo();
  const [copied, setCopied] = useState('');
  const command = session.loginCommand ?? info?.loginCommand ?? '';
  const domain = keystoneDomain(session);
  const copy = async () => {
    if (!command) return;
    try {
      await navigator.clipboard.writeText(command);
      setCopied('Copied.');
    } catch {
      setCopied('Copy it from the box.');
    }
  };
  return (
    <header className="top">
      <Link to="/console/" className="brand">
        KaaS
      </Link>
      <nav aria-label="Main">
        <Link to="/console/">Clusters</Link>
        <Link to="/console/create">Create</Link>
        <a href="/console/api/kubeconfig" download>
          Management kubeconfig
        </a>
      </nav>
      <div className="login-cmd">
        <label htmlFor="login-command">Login command</label>
        <input id="login-command" readOnly value={command} onFocus={(e) => e.target.select()} />
        <button type="button" className="secondary" onClick={() => void copy()} disabled={!command}>
          Copy
        </button>
        <span role="status" className="muted">
          {copied}
        </span>
      </div>
      <div className="user">
        <span data-testid="user">{session.user.name}</span>
        {domain ? <span className="muted">domain {domain}</span> : null}
        <button type="button" className="secondary" onClick={() => void logout()}>
          Sign out
        </button>
      </div>
    </header>
  );
}

/** A keystone user's domain by name (the user name has only its id), when it is not Default. */
function keystoneDomain(session: SessionInfo): string | undefined {
  if (!session.user.name.startsWith('keystone:')) return undefined;
  const names = session.user.extra?.['keystone/user-domain-name'];
  const name = Array.isArray(names) && typeof names[0] === 'string' ? names[0] : undefined;
  return name && name !== 'Default' ? name : undefined;
}

function Routes() {
  const { path, query } = useRoute();
  const parts = path
    .replace(/^\/console\/?/, '')
    .split('/')
    .filter(Boolean)
    .map(decodeURIComponent);
  useEffect(() => {
    document.title = parts.length ? `${parts.at(-1)} · KaaS` : 'Clusters · KaaS';
  }, [path]);
  if (parts.length === 0) return <Fleet />;
  if (parts[0] === 'create') return <CreateCluster />;
  if (parts[0] === 'c' && parts[1] && parts[2])
    return <ClusterPage namespace={parts[1]} name={parts[2]} sub={parts[3] ?? ''} query={query} />;
  return (
    <section className="page">
      <h1>Not found</h1>
      <p>
        Nothing at {path}. <Link to="/console/">All clusters</Link>
      </p>
    </section>
  );
}
