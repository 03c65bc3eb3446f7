import { Link } from 'react-router-dom';

import { paths } from '@/config/paths';

export function NotFoundPage() {
  return (
    <section className="card narrow">
      <h1>Page not found</h1>
      <p>
        <Link to={paths.upload}>Go to the upload page</Link>
      </p>
    </section>
  );
}
