// The tracking plan: events and their properties with descriptions, owners, types, live volume
// and invalid rates; user attributes; and the undeclared events and properties seen in lenient
// mode with sample values.

import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { api } from '../api/endpoints';
import { Empty, ErrorBox, Loading } from '../components/common';
import { formatTime, formatValue } from '../lib/format';
import { arr, isObj, num, str, timeOf, type Obj } from '../lib/loose';

function rate(v: number | null): string {
  return v === null ? '–' : formatValue(v, 'percent');
}

// A property's statistics: nested under "stats" by the tracking API.
function stat(p: Obj, key: string): number | null {
  return num(isObj(p.stats) ? p.stats : p, key);
}

function PropertyTable({ props, label, definitions = new Map() }: { props: Obj[]; label: string; definitions?: Map<string, Obj> }) {
  if (props.length === 0) return <p className="muted">No properties.</p>;
  return (
    <table className="grid-table" aria-label={label}>
      <thead>
        <tr>
          <th scope="col">name</th>
          <th scope="col">type</th>
          <th scope="col">required</th>
          <th scope="col">description</th>
          <th scope="col">null rate</th>
          <th scope="col">invalid rate</th>
          <th scope="col">top values</th>
        </tr>
      </thead>
      <tbody>
        {props.map((p) => {
          const def = definitions.get(str(p, 'name'));
          const stats = isObj(p.stats) ? p.stats : p;
          return (
            <tr key={str(p, 'name')}>
              <td>
                <code>{str(p, 'name')}</code>
                {def && str(def, 'pii') === 'true' && <span className="badge" title="personal data">PII</span>}
              </td>
              <td>{str(p, 'type') || str(def, 'type')}</td>
              <td>{str(p, 'required') === 'true' ? 'yes' : ''}</td>
              <td>
                {str(p, 'description') || str(def, 'description')}
                {(str(p, 'owner') || str(def, 'owner')) && <div className="muted">owner {str(p, 'owner') || str(def, 'owner')}</div>}
              </td>
              <td>{rate(stat(p, 'null_rate'))}</td>
              <td>{rate(stat(p, 'invalid_rate'))}</td>
              <td className="muted">
                {arr(stats, 'top_values')
                  .map((t) => `${str(t, 'value')} (${str(t, 'count')})`)
                  .join(', ')}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

export function TrackingPage() {
  const plan = useQuery({ queryKey: ['tracking'], queryFn: api.tracking, refetchInterval: 30_000 });
  const undeclared = useQuery({ queryKey: ['tracking', 'undeclared'], queryFn: api.undeclared, refetchInterval: 30_000 });
  const [search, setSearch] = useState('');
  const [open, setOpen] = useState<string | null>(null);
  const events = arr(plan.data, 'events').filter(
    (e) => !search || `${str(e, 'name')} ${str(e, 'description')} ${str(e, 'owner')}`.toLowerCase().includes(search.toLowerCase()),
  );
  const attributes = arr(plan.data, 'user_attributes', 'attributes');
  const definitions = new Map(arr(plan.data, 'properties').map((p) => [str(p, 'name'), p]));
  const undeclaredEvents = arr(undeclared.data, 'events');
  const undeclaredProps = arr(undeclared.data, 'properties');

  return (
    <section>
      <h1>Tracking plan</h1>
      <p className="muted">
        What the apps may send, as declared in <code>tracking/*.yaml</code>. Refused events are in the <Link to="/quarantine">quarantine</Link>.
      </p>
      <div className="search-row">
        <input type="search" aria-label="Search events" placeholder="Search events, descriptions, owners" value={search} onChange={(e) => setSearch(e.target.value)} />
      </div>
      <ErrorBox error={plan.error} title="Tracking plan" />
      {plan.isPending && <Loading what="Loading the plan" />}
      {plan.data && events.length === 0 && <Empty>No events {search ? 'match' : 'are declared'}.</Empty>}
      {events.length > 0 && (
        <table className="grid-table" aria-label="Events">
          <thead>
            <tr>
              <th scope="col">event</th>
              <th scope="col">description</th>
              <th scope="col">owner</th>
              <th scope="col">today</th>
              <th scope="col">7 days</th>
              <th scope="col">invalid rate</th>
              <th scope="col">last seen</th>
            </tr>
          </thead>
          <tbody>
            {events.map((e) => {
              const name = str(e, 'name', 'event');
              const props = arr(e, 'properties');
              return [
                <tr key={name}>
                  <td>
                    <button type="button" className="link" aria-expanded={open === name} onClick={() => setOpen(open === name ? null : name)}>
                      {name}
                    </button>
                    <div className="muted">
                      {props.length} properties{str(e, 'status') === 'deprecated' ? ' · deprecated' : ''}
                    </div>
                  </td>
                  <td>{str(e, 'description')}</td>
                  <td>{str(e, 'owner')}</td>
                  <td>{formatValue(stat(e, 'today'))}</td>
                  <td>{formatValue(stat(e, 'last_7_days'))}</td>
                  <td title="the highest invalid rate among its properties (7 days)">{rate(props.reduce<number | null>((m, p) => Math.max(m ?? 0, stat(p, 'invalid_rate') ?? 0), null))}</td>
                  <td>{formatTime(timeOf(isObj(e.stats) ? e.stats : e, 'last_seen'))}</td>
                </tr>,
                open === name ? (
                  <tr key={`${name}:props`}>
                    <td colSpan={7}>
                      <PropertyTable props={props} label={`Properties of ${name}`} definitions={definitions} />
                    </td>
                  </tr>
                ) : null,
              ];
            })}
          </tbody>
        </table>
      )}
      {attributes.length > 0 && (
        <div className="panel" style={{ marginTop: 14 }}>
          <h2>User attributes</h2>
          <table className="grid-table" aria-label="User attributes">
            <thead>
              <tr>
                <th scope="col">attribute</th>
                <th scope="col">type</th>
                <th scope="col">merge</th>
                <th scope="col">description</th>
                <th scope="col">users with it</th>
              </tr>
            </thead>
            <tbody>
              {attributes.map((a) => {
                const users = stat(a, 'users');
                const set = stat(a, 'set');
                return (
                  <tr key={str(a, 'name')}>
                    <td>
                      <code>{str(a, 'name')}</code>
                    </td>
                    <td>{str(a, 'type')}</td>
                    <td>{str(a, 'merge')}</td>
                    <td>{str(a, 'description')}</td>
                    <td>{users ? `${formatValue(set)} of ${formatValue(users)} (${formatValue((set ?? 0) / users, 'percent')})` : '–'}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      <div className="panel" style={{ marginTop: 14 }}>
        <h2>Undeclared events and properties (lenient sources)</h2>
        <ErrorBox error={undeclared.error} />
        {undeclared.data && undeclaredEvents.length + undeclaredProps.length === 0 && <p className="muted">Nothing undeclared was seen.</p>}
        {[...undeclaredEvents.map((u) => ({ ...u, what: 'event' })), ...undeclaredProps.map((u) => ({ ...u, what: 'property' }))].map((u, i) => (
          <div key={i} className="filter-row">
            <span className="badge">{u.what}</span> <code>{str(u, 'name', 'event', 'property')}</code>
            {str(u, 'event') && u.what === 'property' ? <span className="muted">on {str(u, 'event')}</span> : null}
            {str(u, 'source') && <span className="muted">from {str(u, 'source')}</span>}
            <span className="muted">
              {formatValue(num(u, 'count', 'volume'))} seen, last {formatTime(timeOf(u, 'last_seen'))}
            </span>
            <code className="muted">{str(u, 'sample_properties', 'sample_values', 'samples')}</code>
          </div>
        ))}
      </div>
    </section>
  );
}
