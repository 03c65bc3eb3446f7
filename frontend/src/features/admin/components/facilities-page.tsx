import { useState, type FormEvent } from 'react';

import { OfflinePage } from '@/components/layout/offline-page';
import { CachedDataBadge } from '@/components/ui/cached-data-badge';
import { FormAlert } from '@/components/ui/form-alert';
import { TextField } from '@/components/ui/text-field';
import { createFacility, listAllFacilities, updateFacility } from '@/features/admin/api/facilities';
import { AdminNav } from '@/features/admin/components/admin-nav';
import type { Facility } from '@/features/admin/types/admin';
import { errorMessage } from '@/lib/api-client';
import { useOnline } from '@/lib/network';
import { useCachedQuery } from '@/lib/use-cached-query';
import '@/features/admin/components/admin.css';

export function FacilitiesPage() {
  const online = useOnline();
  const query = useCachedQuery<Facility[]>('admin:facilities', listAllFacilities, { online });
  const [name, setName] = useState('');
  const [message, setMessage] = useState<{ kind: 'success' | 'error'; text: string } | null>(null);
  const [busy, setBusy] = useState(false);

  async function run(action: () => Promise<Facility>, done: (facility: Facility) => string) {
    setBusy(true);
    setMessage(null);
    try {
      const facility = await action();
      setMessage({ kind: 'success', text: done(facility) });
      query.reload();
      return true;
    } catch (caught) {
      setMessage({ kind: 'error', text: errorMessage(caught) });
      return false;
    } finally {
      setBusy(false);
    }
  }

  async function onCreate(event: FormEvent) {
    event.preventDefault();
    if (await run(() => createFacility(name.trim()), (f) => `${f.name} was created.`)) setName('');
  }

  if (!query.data && !query.loading && !online) return <OfflinePage what="The facilities" />;
  return (
    <section aria-labelledby="admin-facilities-title" className="page">
      <div className="page-header">
        <h1 id="admin-facilities-title">Facilities</h1>
        {query.fromCache && <CachedDataBadge updatedAt={query.updatedAt ?? undefined} />}
      </div>
      <AdminNav />
      <form className="card admin-form" aria-labelledby="new-facility-title" onSubmit={(event) => void onCreate(event)}>
        <h2 id="new-facility-title" className="form-actions">
          New facility
        </h2>
        <TextField label="Name" value={name} onChange={(event) => setName(event.target.value)} required maxLength={200} />
        <div className="field">
          <button type="submit" className="button" disabled={busy || !online || !name.trim()}>
            Create facility
          </button>
        </div>
      </form>
      {!online && <FormAlert kind="info">You are offline: facilities can be changed once the connection is back.</FormAlert>}
      {message && <FormAlert kind={message.kind}>{message.text}</FormAlert>}
      {query.error && <FormAlert>{query.error}</FormAlert>}
      {query.loading && !query.data && <p role="status">Loading facilities…</p>}
      {query.data && query.data.length === 0 && <p>No facilities yet.</p>}
      {query.data && query.data.length > 0 && (
        <div className="table-scroll" role="region" aria-label="Facilities (scrolls sideways)" tabIndex={0}>
          <table className="admin-table">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Status</th>
                <th scope="col">Rename</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {query.data.map((facility) => (
                <FacilityRow key={facility.id} facility={facility} disabled={busy || !online} run={run} />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function FacilityRow({
  facility,
  disabled,
  run,
}: {
  facility: Facility;
  disabled: boolean;
  run: (action: () => Promise<Facility>, done: (facility: Facility) => string) => Promise<boolean>;
}) {
  const [name, setName] = useState(facility.name);
  const inputId = `facility-name-${facility.id}`;
  return (
    <tr data-facility-id={facility.id}>
      <td>{facility.name}</td>
      <td>{facility.is_active ? 'Open' : 'Deactivated'}</td>
      <td>
        <form
          className="button-row"
          onSubmit={(event) => {
            event.preventDefault();
            void run(() => updateFacility(facility.id, { name: name.trim() }), (f) => `Renamed to ${f.name}.`);
          }}
        >
          <label htmlFor={inputId} className="visually-hidden">
            New name for {facility.name}
          </label>
          <input id={inputId} value={name} maxLength={200} onChange={(event) => setName(event.target.value)} />
          <button
            type="submit"
            className="button button-secondary"
            disabled={disabled || !name.trim() || name.trim() === facility.name}
          >
            Rename<span className="visually-hidden"> {facility.name}</span>
          </button>
        </form>
      </td>
      <td>
        <button
          type="button"
          className="button button-secondary"
          disabled={disabled}
          onClick={() =>
            void run(
              () => updateFacility(facility.id, { is_active: !facility.is_active }),
              (f) => (f.is_active ? `${f.name} is open again.` : `${f.name} was deactivated.`),
            )
          }
        >
          {facility.is_active ? 'Deactivate' : 'Reactivate'}
          <span className="visually-hidden"> {facility.name}</span>
        </button>
      </td>
    </tr>
  );
}
