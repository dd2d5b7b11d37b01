import { NavLink, Navigate, Route, Routes, useLocation } from 'react-router';
import { SessionProvider, useSession } from './auth';
import { SignInPage } from './pages/sign_in';
import { OverviewPage } from './pages/overview';
import { DagListPage } from './pages/dag_list';
import { DagPage } from './pages/dag_page';
import { ExplorePage } from './pages/explore';
import { ChartsPage } from './pages/charts';
import { DashboardListPage, DashboardPage } from './pages/dashboards';
import { TrackingPage } from './pages/tracking';
import { QuarantinePage } from './pages/quarantine';
import { CatalogPage, CatalogTablePage } from './pages/catalog';
import { DataApisPage } from './pages/data_apis';

const kNav = [
  { to: '/', label: 'Overview', end: true },
  { to: '/explore', label: 'Explore' },
  { to: '/charts', label: 'Charts' },
  { to: '/dashboards', label: 'Dashboards' },
  { to: '/domino', label: 'Domino' },
  { to: '/tracking', label: 'Tracking plan' },
  { to: '/quarantine', label: 'Quarantine' },
  { to: '/catalog', label: 'Catalogue' },
  { to: '/apis', label: 'Data APIs' },
];

function Shell() {
  const { token, role, name, signOut } = useSession();
  const location = useLocation();
  if (!token) return <Navigate to={`/sign-in?next=${encodeURIComponent(location.pathname + location.search)}`} replace />;
  return (
    <div className="shell">
      <header className="topbar">
        <a className="brand" href="/">
          <img src="/favicon.svg" alt="" width={22} height={22} /> Basalt
        </a>
        <nav aria-label="Main">
          {kNav.map((n) => (
            <NavLink key={n.to} to={n.to} end={n.end}>
              {n.label}
            </NavLink>
          ))}
        </nav>
        <div className="who">
          <span className="role" data-testid="role" title={name}>
            {role}
          </span>
          <button type="button" onClick={signOut}>
            Sign out
          </button>
        </div>
      </header>
      <main className="content">
        <Routes>
          <Route path="/" element={<OverviewPage />} />
          <Route path="/explore" element={<ExplorePage />} />
          <Route path="/charts" element={<ChartsPage />} />
          <Route path="/dashboards" element={<DashboardListPage />} />
          <Route path="/dashboards/:id" element={<DashboardPage />} />
          <Route path="/domino" element={<DagListPage />} />
          <Route path="/domino/:dag" element={<DagPage />} />
          <Route path="/tracking" element={<TrackingPage />} />
          <Route path="/quarantine" element={<QuarantinePage />} />
          <Route path="/catalog" element={<CatalogPage />} />
          <Route path="/catalog/tables/:table" element={<CatalogTablePage />} />
          <Route path="/apis" element={<DataApisPage />} />
          <Route path="*" element={<NotFound />} />
        </Routes>
      </main>
    </div>
  );
}

function NotFound() {
  return (
    <section>
      <h1>Page not found</h1>
      <p>
        There is no page at this address. <NavLink to="/">Go to the overview</NavLink>.
      </p>
    </section>
  );
}

export function App() {
  return (
    <SessionProvider>
      <Routes>
        <Route path="/sign-in" element={<SignInPage />} />
        <Route path="*" element={<Shell />} />
      </Routes>
    </SessionProvider>
  );
}
