/** Marks data shown from the offline cache instead of a live answer. */
export function CachedDataBadge({ updatedAt }: { updatedAt?: number }) {
  const when = updatedAt ? new Date(updatedAt) : null;
  return (
    <span className="badge badge-cached" role="status">
      Viewing cached data
      {when && (
        <>
          {' '}
          from <time dateTime={when.toISOString()}>{when.toLocaleString()}</time>
        </>
      )}
    </span>
  );
}
