export function TrackingPage() {
  return <section><h1>TrackingPage</h1></section>;
}
