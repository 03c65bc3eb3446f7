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
interface SelectFieldProps<V extends string> {
  id: string;
  label: string;
  value: V;
  /** Each option's value and label; `all` (when given) is the empty value's label. */
  options: readonly { value: V; label: string }[];
  all?: string;
  onChange: (value: V) => void;
}

/** One labelled select of the worklist's sort and filters. */
function SelectField<V extends string>({ id, label, value, options, all, onChange }: SelectFieldProps<V>) {
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <select id={id} value={value} onChange={(event) => onChange(event.target.value as V)}>
        {all !== undefined && <option value="">{all}</option>}
        {options.map((option) => (
          <option key={option.value} value={option.value}>
            {option.label}
          </option>
        ))}
      </select>
    </div>
  );
}

const plain = (values: readonly string[]) => values.map((value) => ({ value, label: value }));

/** Sort and filters of the reports list; every change lands in the URL (the caller's `onChange`). */
export function WorklistFilters({ query, assignable, onChange, onClear, filtered }: Props) {
  const modalities = COMMON_MODALITIES.includes(query.modality) || !query.modality
    ? COMMON_MODALITIES
    : [query.modality, ...COMMON_MODALITIES];
  return (
    <form className="worklist-filters" aria-label="Sort and filter reports" onSubmit={(event) => event.preventDefault()}>
      <SelectField
        id="report-sort"
        label="Sort by"
        value={query.sort}
        options={SORT_OPTIONS}
        onChange={(sort) => onChange({ sort })}
      />
      {assignable && (
        <SelectField
          id="report-assigned-filter"
          label="Assignment"
          value={query.assigned}
          options={ASSIGNED_OPTIONS}
          all="Anyone"
          onChange={(assigned) => onChange({ assigned })}
        />
      )}
      <SelectField
        id="report-status-filter"
        label="Status"
        value={query.status}
        options={REPORT_STATUSES.map((value) => ({ value, label: STATUS_LABELS[value] }))}
        all="All"
        onChange={(status) => onChange({ status })}
      />
      <SelectField
        id="report-modality-filter"
        label="Modality"
        value={query.modality}
        options={plain(modalities)}
        all="All"
        onChange={(modality) => onChange({ modality })}
      />
      <SelectField
        id="report-service-level-filter"
        label="Service level"
        value={query.serviceLevel}
        options={plain(serviceLevelValues) as { value: WorklistQuery['serviceLevel']; label: string }[]}
        all="All"
        onChange={(serviceLevel) => onChange({ serviceLevel })}
      />
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
