export function HistoryPage() {
  return <h1>Upload history</h1>;
}
