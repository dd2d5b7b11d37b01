export function ChartsPage() {
  return <section><h1>ChartsPage</h1></section>;
}
