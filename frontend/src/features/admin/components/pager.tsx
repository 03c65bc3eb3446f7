export interface PagerProps {
  label: string;
  page: number;
  pages: number;
  total: number;
  onPage: (page: number) => void;
}

/** Previous / next with "page N of M" for a Page[T] list. */
export function Pager({ label, page, pages, total, onPage }: PagerProps) {
  return (
    <nav aria-label={label} className="button-row pager">
      <button type="button" className="button button-secondary" disabled={page <= 1} onClick={() => onPage(page - 1)}>
        Previous
      </button>
      <span>
        Page {page} of {pages} ({total} in all)
      </span>
      <button
        type="button"
        className="button button-secondary"
        disabled={page >= pages}
        onClick={() => onPage(page + 1)}
      >
        Next
      </button>
    </nav>
  );
}
