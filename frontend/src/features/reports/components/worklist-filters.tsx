import { STATUS_LABELS } from '@/features/reports/components/report-status-badge';
import {
  ASSIGNED_OPTIONS,
  COMMON_MODALITIES,
  SORT_OPTIONS,
  type WorklistQuery,
} from '@/features/reports/utils/worklist-query';
import { REPORT_STATUSES } from '@/features/reports/types/reports';
import { serviceLevelValues } from '@/types/api.gen';

interface Props {
  query: WorklistQuery;
  /** Radiologists and admins: they are assigned reports, so they filter by assignment. */
  assignable: boolean;
  onChange: (changes: Partial<WorklistQuery>) => void;
  onClear: () => void;
  filtered: boolean;
}

/** Sort and filters of the reports list; every change lands in the URL (the caller's `onChange`). */
export function WorklistFilters({ query, assignable, onChange, onClear, filtered }: Props) {
  const modalities = COMMON_MODALITIES.includes(query.modality) || !query.modality
    ? COMMON_MODALITIES
    : [query.modality, ...COMMON_MODALITIES];
  return (
    <form className="worklist-filters" aria-label="Sort and filter reports" onSubmit={(event) => event.preventDefault()}>
      <div className="field">
        <label htmlFor="report-sort">Sort by</label>
        <select
          id="report-sort"
          value={query.sort}
          onChange={(event) => onChange({ sort: event.target.value as WorklistQuery['sort'] })}
        >
          {SORT_OPTIONS.map((option) => (
            <option key={option.value} value={option.value}>
              {option.label}
            </option>
          ))}
        </select>
      </div>
      {assignable && (
        <div className="field">
          <label htmlFor="report-assigned-filter">Assignment</label>
          <select
            id="report-assigned-filter"
            value={query.assigned}
            onChange={(event) => onChange({ assigned: event.target.value as WorklistQuery['assigned'] })}
          >
            <option value="">Anyone</option>
            {ASSIGNED_OPTIONS.map((option) => (
              <option key={option.value} value={option.value}>
                {option.label}
              </option>
            ))}
          </select>
        </div>
      )}
      <div className="field">
        <label htmlFor="report-status-filter">Status</label>
        <select
          id="report-status-filter"
          value={query.status}
          onChange={(event) => onChange({ status: event.target.value as WorklistQuery['status'] })}
        >
          <option value="">All</option>
          {REPORT_STATUSES.map((value) => (
            <option key={value} value={value}>
              {STATUS_LABELS[value]}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor="report-modality-filter">Modality</label>
        <select
          id="report-modality-filter"
          value={query.modality}
          onChange={(event) => onChange({ modality: event.target.value })}
        >
          <option value="">All</option>
          {modalities.map((value) => (
            <option key={value} value={value}>
              {value}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor="report-service-level-filter">Service level</label>
        <select
          id="report-service-level-filter"
          value={query.serviceLevel}
          onChange={(event) => onChange({ serviceLevel: event.target.value as WorklistQuery['serviceLevel'] })}
        >
          <option value="">All</option>
          {serviceLevelValues.map((value) => (
            <option key={value} value={value}>
              {value}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor="report-date-from">Received from</label>
        <input
          id="report-date-from"
          type="date"
          value={query.dateFrom}
          max={query.dateTo || undefined}
          onChange={(event) => onChange({ dateFrom: event.target.value })}
        />
      </div>
      <div className="field">
        <label htmlFor="report-date-to">Received until</label>
        <input
          id="report-date-to"
          type="date"
          value={query.dateTo}
          min={query.dateFrom || undefined}
          onChange={(event) => onChange({ dateTo: event.target.value })}
        />
      </div>
      {filtered && (
        <div className="field worklist-clear">
          <button type="button" className="button button-secondary" onClick={onClear}>
            Clear filters
          </button>
        </div>
      )}
    </form>
  );
}
