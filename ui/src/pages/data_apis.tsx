export function DataApisPage() {
  return <section><h1>DataApisPage</h1></section>;
}
