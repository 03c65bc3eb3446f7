import { Outlet } from 'react-router-dom';

export function AppLayout() {
  return (
    <div className="app">
      <main id="main" className="app-main" tabIndex={-1}>
        <Outlet />
      </main>
    </div>
  );
}
