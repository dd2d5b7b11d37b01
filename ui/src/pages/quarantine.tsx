export function QuarantinePage() {
  return <section><h1>QuarantinePage</h1></section>;
}
