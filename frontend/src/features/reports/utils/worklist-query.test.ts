import { describe, expect, it } from 'vitest';

import {
  defaultSort,
  isFiltered,
  parseWorklist,
  SORT_OPTIONS,
  worklistCacheKey,
  worklistParams,
  worklistSearch,
} from '@/features/reports/utils/worklist-query';

describe('worklist query', () => {
  it('puts STAT first for readers and the newest first for everyone else by default', () => {
    expect(defaultSort(true)).toBe('priority');
    expect(defaultSort(false)).toBe('-date');
    expect(parseWorklist(new URLSearchParams(), { reader: true }).sort).toBe('priority');
    expect(parseWorklist(new URLSearchParams(), { reader: false }).sort).toBe('-date');
    // The default is not written into the URL, so a plain link stays plain.
    expect(worklistSearch(parseWorklist(new URLSearchParams(), { reader: true }), { reader: true }).toString()).toBe('');
  });

  it('round-trips every filter, the sort and the page through the query string', () => {
    const search = new URLSearchParams(
      'status=PENDING&modality=ct&service_level=STAT&assigned=unassigned&date_from=2026-03-01&date_to=2026-03-02&sort=-date&page=3',
    );
    const query = parseWorklist(search, { reader: true });
    expect(query).toEqual({
      status: 'PENDING',
      modality: 'CT',
      serviceLevel: 'STAT',
      assigned: 'unassigned',
      dateFrom: '2026-03-01',
      dateTo: '2026-03-02',
      sort: '-date',
      page: 3,
    });
    expect(parseWorklist(worklistSearch(query, { reader: true }), { reader: true })).toEqual(query);
    expect(worklistParams(query)).toEqual({
      page: 3,
      sort: '-date',
      status: 'PENDING',
      modality: 'CT',
      service_level: 'STAT',
      assigned: 'unassigned',
      date_from: '2026-03-01',
      date_to: '2026-03-02',
    });
    expect(isFiltered(query)).toBe(true);
    expect(isFiltered(parseWorklist(new URLSearchParams('sort=status&page=2'), { reader: true }))).toBe(false);
  });

  it('drops values the API would refuse instead of sending them', () => {
    const query = parseWorklist(
      new URLSearchParams(
        'status=DONE&modality=C%20T&service_level=URGENT&assigned=nobody&date_from=yesterday&date_to=2026-13-45&sort=patient_name&page=-2',
      ),
      { reader: true },
    );
    expect(query).toEqual({
      status: '',
      modality: '',
      serviceLevel: '',
      assigned: '',
      dateFrom: '',
      dateTo: '',
      sort: 'priority',
      page: 1,
    });
    expect(worklistParams(query)).toEqual({ page: 1, sort: 'priority' });
  });

  it('ignores the assignment filter for those who are never assigned reports', () => {
    expect(parseWorklist(new URLSearchParams('assigned=me'), { reader: false }).assigned).toBe('');
  });

  it('offers every sort once and keys the offline copy by user and exact view', () => {
    const values = SORT_OPTIONS.map((option) => option.value);
    expect(new Set(values).size).toBe(values.length);
    const unassignedCt = parseWorklist(new URLSearchParams('assigned=unassigned&modality=CT'), { reader: true });
    const all = parseWorklist(new URLSearchParams(), { reader: true });
    expect(worklistCacheKey('u1', unassignedCt)).toBe('reports:u1:page=1&sort=priority&modality=CT&assigned=unassigned');
    expect(worklistCacheKey('u1', all)).not.toBe(worklistCacheKey('u1', unassignedCt));
    expect(worklistCacheKey('u2', all)).not.toBe(worklistCacheKey('u1', all));
  });
});
